"""The offline plan's SDK loader, where mutation testing found it untested: the finder's
installation, the compiled-code cache being used (not only written), names found once."""

from __future__ import annotations

import importlib
import importlib.util
import marshal
import os
import sys

import pytest

from zenprovision.engines.embedded import lazy_sdk

from .test_lazy_sdk import sdk  # noqa: F401  (the synthetic SDK fixture)


def test_install_puts_the_finder_first_once(monkeypatch):
    monkeypatch.delenv("ZENPROVISION_EAGER_SDK", raising=False)
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not isinstance(f, lazy_sdk.LazySdkFinder)])
    assert lazy_sdk.install() is True
    assert lazy_sdk.install() is True
    assert isinstance(sys.meta_path[0], lazy_sdk.LazySdkFinder)
    assert sum(isinstance(f, lazy_sdk.LazySdkFinder) for f in sys.meta_path) == 1


def test_a_name_is_looked_up_once_and_then_kept_on_the_package(sdk):  # noqa: F811
    compute = importlib.import_module("fakesdk.compute")
    first = compute.Disk
    assert vars(compute)["Disk"] is first and compute.Disk is first


def test_a_subpackage_is_imported_on_access(sdk):  # noqa: F811
    (sdk / "compute" / "zones").mkdir()
    (sdk / "compute" / "zones" / "__init__.py").write_text("ZONE = 'a'\n")
    assert importlib.import_module("fakesdk.compute").zones.ZONE == "a"


def test_private_names_are_not_searched_for_in_modules_without_all(sdk):  # noqa: F811
    (sdk / "compute" / "helpers.py").write_text("def helper():\n    return 'help'\n_private = 1\n")
    compute = importlib.import_module("fakesdk.compute")
    with pytest.raises(AttributeError) as raised:
        compute._private  # noqa: B018
    assert str(raised.value) == "module 'fakesdk.compute' has no attribute '_private'"


def cache_of(source) -> str:
    return importlib.util.cache_from_source(str(source), optimization=lazy_sdk.CACHE_TAG)


def test_the_compiled_cache_is_what_a_second_load_uses(sdk):  # noqa: F811
    source = sdk / "compute" / "disk.py"
    (sdk / "compute" / "__pycache__").mkdir()  # an existing cache folder is no reason not to write
    loader = lazy_sdk.PostponedAnnotationsLoader("fakesdk.compute.disk", str(source))
    loader.get_code("fakesdk.compute.disk")
    stat = os.stat(source)
    header = (importlib.util.MAGIC_NUMBER + bytes(4) + int(stat.st_mtime).to_bytes(4, "little")
              + stat.st_size.to_bytes(4, "little"))
    with open(cache_of(source), "rb") as cached:
        data = cached.read()
    assert data[:16] == header  # the layout of CPython's own .pyc header
    assert "Disk" in marshal.loads(data[16:]).co_names
    with open(cache_of(source), "wb") as cached:  # the same header, other code: a second load must take it
        cached.write(header + marshal.dumps(compile("FROM_CACHE = True", str(source), "exec")))
    assert "FROM_CACHE" in loader.get_code("fakesdk.compute.disk").co_names


def test_a_namespace_package_and_a_plain_re_exporting_module_import_as_usual(sdk):  # noqa: F811
    (sdk / "compute" / "extra").mkdir()  # no __init__.py: a namespace package, with no origin
    (sdk / "compute" / "extra" / "tool.py").write_text("NAME = 'tool'\n")
    assert importlib.import_module("fakesdk.compute.extra.tool").NAME == "tool"
    (sdk / "compute" / "alias.py").write_text("from .disk import *\n")  # a module, not a package
    assert importlib.import_module("fakesdk.compute.alias").Disk.__name__ == "Disk"
