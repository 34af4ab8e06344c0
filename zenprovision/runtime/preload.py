"""The imports a pipeline's steps make inside their bodies, made once before workers fork.

A step such as ``def train(...): from sklearn.linear_model import ...`` imports its library
in whichever worker runs it; with two forked workers a chain pays that import in each (about
a second for scikit-learn). The local orchestrator forks its workers from the run's process,
so importing those modules there first lets every worker inherit them (issue 15, item 1).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
from collections.abc import Iterable
from typing import Any


def step_imports(functions: Iterable[Any]) -> list[str]:
    """Absolute module names imported anywhere in these functions' source."""
    names: set[str] = set()
    for function in dict.fromkeys(functions):  # a 40-step chain of one step parses it once
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError, SyntaxError):  # no source (a REPL, a C function): nothing to learn
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return sorted(names)


def preload(functions: Iterable[Any]) -> list[str]:
    """Import what the functions import; one that fails is left for its step to report."""
    loaded = []
    for name in step_imports(functions):
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the step raises it itself, where it belongs
            continue
        loaded.append(name)
    return loaded
