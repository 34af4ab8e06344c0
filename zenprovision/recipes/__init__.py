"""Stack recipes: Pulumi programs in folders, found by the catalog.

The catalog and recipe loader (importlib.metadata, YAML) load on first use: ``provision run``
needs only the config schema of this package, and should not pay for the rest.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Catalog": "zenprovision.recipes.catalog",
    "Recipe": "zenprovision.recipes.recipe",
    "load_recipe": "zenprovision.recipes.recipe",
    "ConfigKey": "zenprovision.recipes.schema",
}

__all__ = ["Catalog", "ConfigKey", "Recipe", "load_recipe"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
