"""The layout of Pulumi's generated Python SDKs, read from source without importing it.

A package ``__init__`` that only star-imports its modules, and each module's ``__all__``:
enough to know which file defines a class, for the offline plan's lazy loader and for the
policies' view of what a resource type accepts.
"""

from __future__ import annotations

import re
from pathlib import Path

STAR = re.compile(r"from \.(\w+) import \*")
BOILERPLATE = re.compile(r"import builtins as _builtins|import typing|from \. import outputs|from \.+ import _utilities")
ALL = re.compile(r"__all__ = \[(.*?)\]", re.S)
NAME = re.compile(r"'(\w+)'")


def star_modules(init: Path) -> list[str] | None:
    """The submodules an ``__init__`` re-exports, or None if it does anything else."""
    found = []
    for raw in init.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if match := STAR.fullmatch(line):
            found.append(match.group(1))
        elif not BOILERPLATE.fullmatch(line):
            return None
    return found


def exported_names(path: Path) -> list[str] | None:
    """A generated module's ``__all__``, read from its head without importing it."""
    text = ""
    with open(path, encoding="utf-8") as handle:
        while chunk := handle.read(16384):
            text += chunk
            start = text.find("__all__ = [")
            if start >= 0 and "]" in text[start:]:
                return NAME.findall(ALL.search(text, start).group(1))
            if start < 0 and len(text) > 16384:
                return None
    return None
