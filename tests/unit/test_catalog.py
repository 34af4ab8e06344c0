import shutil
from importlib import metadata

from zenprovision.recipes import catalog as catalog_module
from zenprovision.recipes.catalog import Catalog

LOCAL = catalog_module.builtin_dir() / "local"


def test_builtin_local_recipe(monkeypatch):
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    recipe = Catalog().get("local")
    assert recipe.engine == "embedded"
    assert recipe.components == {"artifact_store": "local", "orchestrator": "local", "model_server": "mlserver"}
    assert {"workers", "model_server_port", "force_destroy"} <= set(recipe.config)
    for key in recipe.config.values():
        assert key.description and key.type


def test_recipes_path_and_broken_recipe_warns(tmp_path, monkeypatch):
    good = tmp_path / "mine"
    shutil.copytree(LOCAL, good)
    (good / "Pulumi.yaml").write_text((good / "Pulumi.yaml").read_text().replace("name: local", "name: mine"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", f"{tmp_path}:{tmp_path / 'missing'}")
    catalog = Catalog()
    assert "mine" in catalog.names() and "local" in catalog.names()
    assert any("broken" in w and "recipe.yaml" in w for w in catalog.warnings)
    assert any("missing" in w for w in catalog.warnings)


def test_user_recipe_shadows_builtin_with_a_warning(tmp_path, monkeypatch):
    shutil.copytree(LOCAL, tmp_path / "local")
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(tmp_path / "local"))
    catalog = Catalog()
    assert catalog.get("local").path == (tmp_path / "local").resolve()
    assert any("shadowed" in w for w in catalog.warnings)


class _EntryPoint:
    def __init__(self, name, target):
        self.name, self._target = name, target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_entry_points_load_and_broken_ones_warn(tmp_path, monkeypatch):
    plugin = tmp_path / "plugin"
    shutil.copytree(LOCAL, plugin)
    (plugin / "Pulumi.yaml").write_text((plugin / "Pulumi.yaml").read_text().replace("name: local", "name: plugged"))
    points = [_EntryPoint("good", lambda: plugin), _EntryPoint("bad", ImportError("no module named x"))]
    monkeypatch.setattr(metadata, "entry_points", lambda group: points if group == "zenprovision.recipes" else [])
    catalog = Catalog()
    assert catalog.get("plugged").source == "entry-point:good"
    assert any("'bad'" in w and "no module named x" in w for w in catalog.warnings)
