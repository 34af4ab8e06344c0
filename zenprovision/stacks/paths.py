"""Dotted keys into a stack config, as ``provision output STACK KEY`` takes them.

``artifact_store.config.bucket`` starts at a component; anything else (``labels.env``,
``name``, ``components.orchestrator.flavor``) starts at the top of the document.
"""

from __future__ import annotations

from typing import Any

from zenprovision.errors import InputError
from zenprovision.stacks.config import StackConfig

_MISSING = object()


def _walk(data: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def lookup(config: StackConfig, key: str) -> Any:
    """The value at KEY; an InputError naming the stack's keys when there is none."""
    document = config.to_document()
    parts = key.split(".")
    for root in (document["components"], document):
        value = _walk(root, parts) if key else _MISSING
        if value is not _MISSING:
            return value
    shown = ", ".join(k for k in keys(config) if k.startswith(parts[0]))[:200] or ", ".join(keys(config)[:6])
    raise InputError(f"stack {config.name!r} has no key {key!r}",
                     hint=f"keys include: {shown}; all of them: provision output {config.name}")


def keys(config: StackConfig) -> list[str]:
    """Every leaf key, components first (what shell completion offers)."""
    document = config.to_document()
    out = _leaves(document["components"], "")
    rest = {k: v for k, v in document.items() if k != "components"}
    return out + _leaves(rest, "")


def _leaves(data: Any, prefix: str) -> list[str]:
    if isinstance(data, dict) and data:
        return [leaf for k, v in data.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]
