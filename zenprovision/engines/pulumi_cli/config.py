"""A request's typed config values as Pulumi stack config, with the schema's secret flags.

Scalars travel as the strings ``pulumi config set`` takes. Arrays and maps must reach the
stack as *object* values: the CLI checks every stack value against the project's declared
type (``validateStackConfigValue`` in pulumi ``pkg/workspace/config.go``) and rejects a
JSON text where ``type: array`` is declared, so those go through ``config set-all --json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zenprovision.recipes.schema import ConfigKey

LABEL_NAMESPACE = "zenprovision"


@dataclass(frozen=True)
class Setting:
    """One stack config value as ``pulumi config set`` takes it."""

    value: str
    secret: bool = False
    structured: bool = False  # an array or map: ``value`` is its JSON text, set as an object value

    def __repr__(self) -> str:
        return "Setting('[secret]', secret=True)" if self.secret else f"Setting({self.value!r})"

    def as_config_json(self) -> dict[str, Any]:
        """This value in the shape ``pulumi config --json`` prints and ``config set-all --json`` reads."""
        entry: dict[str, Any] = {"value": self.value, "secret": self.secret}
        if self.structured:
            entry["objectValue"] = json.loads(self.value)
        return entry


def to_config_string(value: Any) -> str:
    """Pulumi config is text: booleans as true/false, numbers as written, lists and maps as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return str(value)


def stack_settings(project: str, schema: Mapping[str, ConfigKey], values: Mapping[str, Any],
                   labels: Any = None) -> dict[str, Setting]:
    """``<project>:<key>`` for every config value that is set, ``zenprovision:<label>`` for labels."""
    settings = {
        f"{project}:{key}": Setting(to_config_string(value), secret=_is_secret(schema, key),
                                    structured=isinstance(value, (list, tuple, dict)))
        for key, value in values.items()
        if value is not None
    }
    for key, value in label_items(labels).items():
        settings[f"{LABEL_NAMESPACE}:{key}"] = Setting(value)
    return settings


def label_items(labels: Any) -> dict[str, str]:
    """Labels from a dict or a pydantic model; empty values are left out."""
    if labels is None:
        return {}
    if hasattr(labels, "model_dump"):
        labels = labels.model_dump()
    return {str(k): str(v) for k, v in dict(labels).items() if v not in (None, "")}


def stale_keys(current: Mapping[str, Any], wanted: Mapping[str, Setting], project: str) -> list[str]:
    """Keys zenprovision set on an earlier run that this run no longer sets."""
    ours = (f"{project}:", f"{LABEL_NAMESPACE}:")
    return sorted(key for key in current if key.startswith(ours) and key not in wanted)


def _is_secret(schema: Mapping[str, ConfigKey], key: str) -> bool:
    spec = schema.get(key)
    return bool(spec and spec.secret)
