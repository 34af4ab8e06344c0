"""The offline plan's SDK loader on a synthetic SDK: lazy packages, postponed annotations, its cache."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

from zenprovision.engines.embedded import lazy_sdk
from zenprovision.policy import sdk_layout

RESOURCE = '''
import typing
__all__ = ['{name}Args', '{name}']
LOADED.append('{module}')

class {name}Args:
    def __init__(self, size: typing.Optional[Undefined[int]] = None):
        self.size = size

class {name}:
    pass
'''


@pytest.fixture
def sdk(tmp_path, monkeypatch):
    """``fakesdk.compute``: a re-exporting package of three modules; ``fakesdk.mixed``: one with code."""
    root = tmp_path / "fakesdk"
    (root / "compute").mkdir(parents=True)
    (root / "__init__.py").write_text("LOADED = []\n")
    init = ["# generated", "import builtins as _builtins", "from .. import _utilities", "import typing"]
    for module, name in (("disk", "Disk"), ("network", "Network"), ("_inputs", "DiskSpec")):
        body = RESOURCE.format(name=name, module=module).replace("\nLOADED", "\nfrom fakesdk import LOADED\nLOADED")
        (root / "compute" / f"{module}.py").write_text(body)
        init.append(f"from .{module} import *")
    (root / "compute" / "helpers.py").write_text("def helper():\n    return 'help'\n")  # no __all__
    init += ["from .helpers import *", "from . import outputs"]
    (root / "compute" / "outputs.py").write_text("X = 1\n")
    (root / "compute" / "__init__.py").write_text("\n".join(init) + "\n")
    (root / "_utilities.py").write_text("")
    (root / "mixed").mkdir()
    (root / "mixed" / "__init__.py").write_text("from .part import *\nSETUP = True\n")
    (root / "mixed" / "part.py").write_text("__all__ = ['Part']\nclass Part:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(lazy_sdk, "PACKAGES", re.compile(r"fakesdk\."))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.delenv("ZENPROVISION_EAGER_SDK", raising=False)
    finder = lazy_sdk.LazySdkFinder()
    sys.meta_path.insert(0, finder)
    yield root
    sys.meta_path.remove(finder)
    for name in [m for m in sys.modules if m == "fakesdk" or m.startswith("fakesdk.")]:
        del sys.modules[name]


def test_a_re_exporting_package_loads_only_what_is_used(sdk):
    compute = importlib.import_module("fakesdk.compute")
    loaded = importlib.import_module("fakesdk").LOADED
    assert loaded == []
    assert compute.Disk.__module__ == "fakesdk.compute.disk"
    assert compute.DiskArgs(size=3).size == 3
    assert loaded == ["disk"]
    assert compute.helper() == "help"  # a module without __all__ is searched on a miss
    assert compute.outputs.X == 1 and compute.network.Network.__name__ == "Network"
    assert "DiskSpec" in dir(compute) and set(compute.__all__) >= {"Disk", "Network", "DiskSpec"}
    with pytest.raises(AttributeError):
        compute.Missing  # noqa: B018


def test_annotations_stay_strings_and_are_cached_under_their_own_tag(sdk):
    compute = importlib.import_module("fakesdk.compute")
    # `Undefined` exists nowhere: built eagerly, this annotation would fail the import
    assert compute.DiskArgs.__init__.__annotations__["size"] == "typing.Optional[Undefined[int]]"
    cached = sdk / "compute" / "__pycache__" / f"disk.{sys.implementation.cache_tag}.opt-{lazy_sdk.CACHE_TAG}.pyc"
    assert cached.is_file()
    assert not (sdk / "compute" / "__pycache__" / f"disk.{sys.implementation.cache_tag}.pyc").exists()


def test_a_changed_source_is_compiled_again(sdk):
    loader = lazy_sdk.PostponedAnnotationsLoader("fakesdk.compute.disk", str(sdk / "compute" / "disk.py"))
    assert "Disk" in loader.get_code("fakesdk.compute.disk").co_names
    (sdk / "compute" / "disk.py").write_text("__all__ = ['Renamed']\nclass Renamed:\n    pass\n" + "#" * 50)
    assert "Renamed" in loader.get_code("fakesdk.compute.disk").co_names


def test_a_package_with_its_own_code_imports_as_usual(sdk):
    mixed = importlib.import_module("fakesdk.mixed")
    assert mixed.SETUP is True and mixed.Part.__name__ == "Part"
    assert not isinstance(mixed.__spec__.loader, lazy_sdk.LazyPackageLoader)


def test_star_modules_refuses_anything_but_re_exports(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text("import typing\nfrom .a import *\nfrom . import outputs\n")
    assert sdk_layout.star_modules(init) == ["a"]
    init.write_text("from .a import *\nimport os\n")
    assert sdk_layout.star_modules(init) is None


def test_the_environment_can_turn_it_off(monkeypatch):
    monkeypatch.setenv("ZENPROVISION_EAGER_SDK", "1")
    assert lazy_sdk.install() is False
