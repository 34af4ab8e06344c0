"""Imports point down the layers (ARCHITECTURE.md, "Layering"), checked on the source.

Every ``import`` counts, module-level or inside a function: a lazy import is still a dependency.
Pinned here are the rules the package keeps: nothing imports the CLI; stack configs, recipes and
the engines never reach up into the pipeline runtime; the runtime never drives an engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zenprovision

PACKAGE = Path(zenprovision.__file__).parent


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_by_layer() -> dict[str, set[tuple[str, str]]]:
    """layer -> {(imported zenprovision module, importing file)}."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "templates" in path.relative_to(PACKAGE).parts:
            continue  # cookiecutter templates, rendered into users' recipes
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] if node.module != "zenprovision" else \
                    [f"zenprovision.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("zenprovision.") and _layer(name) != _layer(module):
                    found.setdefault(_layer(module), set()).add((name, str(path.relative_to(PACKAGE.parent))))
    return found


IMPORTS = imports_by_layer()


def offenders(layers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{where} imports {name}" for layer in layers for name, where in IMPORTS.get(layer, ())
                  if _layer(name) in forbidden)


def test_the_scan_sees_the_imports_it_checks():
    assert ("zenprovision.runtime.metadata", "zenprovision/lifecycle.py") in IMPORTS["lifecycle"]
    assert any(name.startswith("zenprovision.cli") for name, _ in IMPORTS["__main__"])


def test_nothing_imports_the_cli():
    assert offenders(tuple(layer for layer in IMPORTS if layer not in ("cli", "__main__")), ("cli",)) == []


@pytest.mark.parametrize("layers", [("stacks",), ("recipes",), ("engines",), ("errors", "atomic", "home", "homes",
                                                                            "file_uris", "yaml_loading")])
def test_configs_recipes_engines_and_utilities_never_import_the_runtime(layers):
    assert offenders(layers, ("runtime", "lifecycle", "cli")) == []


def test_the_runtime_never_drives_an_engine():
    assert offenders(("runtime",), ("engines", "lifecycle", "teardown", "cli")) == []
