"""Settings of a home: ``$ZENPROVISION_HOME/settings.yaml``.

    default_ttl:
      dev: 3d        # dev stacks deployed without --ttl expire after three days
"""

from __future__ import annotations

from typing import Any

import yaml

from zenprovision import home
from zenprovision.errors import CorruptFileError


def load() -> dict[str, Any]:
    path = home.home() / "settings.yaml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CorruptFileError(f"settings file {path} is not valid YAML", hint="fix or remove it") from exc
    if not isinstance(data, dict):
        raise CorruptFileError(f"settings file {path} must be a mapping", hint="fix or remove it")
    return data


def default_ttl(env: str) -> str | None:
    value = (load().get("default_ttl") or {}).get(env)
    return str(value) if value else None
