"""Property values as the Pulumi SDK hands them over: secrets, unknowns, providers."""

from __future__ import annotations

import base64
from typing import Any

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PROVIDER_KEY = "__provider"
DYNAMIC_PREFIX = "pulumi-python:dynamic"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> Any:
    """Plain values for a provider call: secret wrappers removed, recursively."""
    if is_secret(value):
        return reveal(value.get("value"))
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """Values safe to print: secrets masked, unknowns spelled out."""
    if is_secret(value):
        return "[secret]"
    if _is_unknown(value):
        return "(known after apply)"
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _is_unknown(value: Any) -> bool:
    return (isinstance(value, str) and value == UNKNOWN) or type(value).__name__ == "Unknown"


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def is_dynamic(type_: str) -> bool:
    return type_.startswith(DYNAMIC_PREFIX)


def split_provider(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The serialized provider and the resource's own inputs."""
    news = dict(inputs)
    blob = reveal(news.pop(PROVIDER_KEY, ""))
    return blob, news


def load_provider(blob: str) -> Any:
    import dill

    return dill.loads(base64.b64decode(blob))
