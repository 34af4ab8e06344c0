"""Stack configs: the validated, versioned contract between provisioning and running.

The config models (pydantic) load on first use, so ``provision stacks`` and ``runs``,
which import small modules of this package, never pay for them.
"""

from __future__ import annotations

import importlib
from typing import Any

from zenprovision.stacks.names import validate_stack_name

_FROM_CONFIG = ("API_VERSION", "Component", "Labels", "StackConfig")

__all__ = [*_FROM_CONFIG, "validate_stack_name"]


def __getattr__(name: str) -> Any:
    if name in _FROM_CONFIG:
        return getattr(importlib.import_module("zenprovision.stacks.config"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
