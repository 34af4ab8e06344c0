"""Settings of a home: ``$ZENPROVISION_HOME/settings.yaml``.

    default_ttl:
      dev: 3d        # dev stacks deployed without --ttl expire after three days
    no_pickle: true  # refuse pickle-based artifacts (also ZENPROVISION_NO_PICKLE=1)
"""

from __future__ import annotations

import os
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


NO_PICKLE_ENV = "ZENPROVISION_NO_PICKLE"


def no_pickle() -> bool:
    """Refuse pickle-based artifacts (``no_pickle: true`` in settings.yaml, or the env variable).

    Unpickling runs code: with this on, only materializers that cannot (JSON, bytes, numpy
    without objects, parquet) load or store anything.
    """
    flag = os.environ.get(NO_PICKLE_ENV)
    if flag is not None and flag.strip():
        return flag.strip().lower() in {"1", "true", "yes", "on"}
    return load().get("no_pickle") is True
