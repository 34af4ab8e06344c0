"""A recipe folder: ``Pulumi.yaml`` + ``__main__.py`` + ``recipe.yaml``, read and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zenprovision import yaml_loading
from zenprovision.errors import RecipeError
from zenprovision.recipes.schema import ConfigKey, apply_rules, parse_schema

ENGINES = ("embedded", "pulumi")
COMPONENT_KINDS = ("artifact_store", "orchestrator", "model_server", "container_registry")


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    description: str
    cloud: str
    engine: str
    components: dict[str, str]
    config: dict[str, ConfigKey]
    prerequisites: list[str] = field(default_factory=list)
    source: str = "builtin"
    plugins: list[str] = field(default_factory=list)  # Pulumi provider plugins the program needs
    test_config: dict[str, Any] = field(default_factory=dict)  # values for required keys, for tests

    @property
    def program(self) -> Path:
        return self.path / "__main__.py"

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cloud": self.cloud,
            "engine": self.engine,
            "components": dict(self.components),
            "description": self.description,
            "source": self.source,
            "path": str(self.path),
        }

    def details(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "config": [key.to_dict() for key in self.config.values()],
            "prerequisites": list(self.prerequisites),
        }


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RecipeError(f"{path} is missing")
    try:
        data = yaml_loading.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"{path} must be a mapping")
    return data


def load_recipe(folder: Path, source: str = "builtin") -> Recipe:
    """Read a recipe folder; anything that breaks the contract raises RecipeError."""
    folder = Path(folder).resolve()
    project = _read_yaml(folder / "Pulumi.yaml")
    meta = _read_yaml(folder / "recipe.yaml")
    if not (folder / "__main__.py").is_file():
        raise RecipeError(f"{folder / '__main__.py'} is missing")
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise RecipeError(f"{folder / 'Pulumi.yaml'}: `name` is missing")
    runtime = project.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise RecipeError(f"{folder / 'Pulumi.yaml'}: runtime must be python, not {runtime_name!r}")
    engine = meta.get("engine")
    if engine not in ENGINES:
        raise RecipeError(f"{folder / 'recipe.yaml'}: engine must be one of {ENGINES}")
    components = meta.get("components") or {}
    if not isinstance(components, dict) or not all(k in COMPONENT_KINDS for k in components):
        raise RecipeError(
            f"{folder / 'recipe.yaml'}: components must map kinds {COMPONENT_KINDS} to flavors"
        )
    return Recipe(
        name=name,
        path=folder,
        description=str(project.get("description", "")).strip(),
        cloud=str(meta.get("cloud", "")),
        engine=engine,
        components={str(k): str(v) for k, v in components.items()},
        config=apply_rules(parse_schema(project.get("config"), str(folder / "Pulumi.yaml")),
                           meta.get("config"), str(folder / "recipe.yaml")),
        prerequisites=[str(item) for item in meta.get("prerequisites") or []],
        source=source,
        plugins=[str(item) for item in meta.get("plugins") or []],
        test_config={str(k): str(v) for k, v in (meta.get("test_config") or {}).items()},
    )
