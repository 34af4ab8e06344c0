"""zenprovision: provision MLOps stacks from Pulumi recipes and run pipelines on them.

The pipeline API (``step``, ``pipeline``, ``deploy_model``, ``get_step_context``,
``log_metadata``, ``Secret``) is loaded on first use, so the CLI starts fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

_LAZY = {
    "step": "zenprovision.runtime.steps",
    "pipeline": "zenprovision.runtime.pipelines",
    "deploy_model": "zenprovision.runtime.builtin_steps",
    "get_step_context": "zenprovision.runtime.context",
    "log_metadata": "zenprovision.runtime.context",
    "register_materializer": "zenprovision.runtime.materializers",
    "Secret": "zenprovision.runtime.pipelines",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zenprovision' has no attribute {name!r}")
