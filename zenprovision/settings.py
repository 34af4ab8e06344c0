"""Settings of a home: ``$ZENPROVISION_HOME/settings.yaml``.

    default_ttl:
      dev: 3d        # dev stacks deployed without --ttl expire after three days
    no_pickle: true  # refuse pickle-based artifacts (also ZENPROVISION_NO_PICKLE=1)
    home: s3://...   # the shared home (read by zenprovision.home)

``no_pickle`` is a trust switch, so it fails closed: a value that is not clearly a boolean,
or a key that is not one of these (``no-pickle``), is an error rather than "off".
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

from zenprovision import home, yaml_loading
from zenprovision.errors import CorruptFileError, InputError

KNOWN_KEYS = ("default_ttl", "home", "no_pickle")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
ACCEPTED = "true/false, yes/no, on/off or 1/0"


def _path() -> Path:
    return home.home() / "settings.yaml"


def load() -> dict[str, Any]:
    """The settings file as a mapping, refused whole if it names a key zenprovision does not know."""
    path = _path()
    if not path.exists():
        return {}
    try:
        data = yaml_loading.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CorruptFileError(f"settings file {path} is not valid YAML", hint="fix or remove it") from exc
    if not isinstance(data, dict):
        raise CorruptFileError(f"settings file {path} must be a mapping", hint="fix or remove it")
    for key in data:
        _check_key(path, key)
    _check_default_ttl(path, data.get("default_ttl"))
    return data


def _check_default_ttl(path: Path, ttls: Any) -> None:
    """Each env's duration, named with the file: the user never typed it on the command line."""
    if ttls is None:
        return
    if not isinstance(ttls, dict):
        raise InputError(f"{path}: default_ttl must map an env to a duration, not {ttls!r}",
                         hint="e.g. default_ttl: {dev: 3d}")
    from zenprovision.stacks.clock import parse_duration

    for env, value in ttls.items():
        if value in (None, ""):
            continue
        try:
            parse_duration(str(value))
        except InputError as exc:
            raise InputError(f"{path}: default_ttl for {env!r}: {exc.message}", hint=exc.hint) from None


def _check_key(path: Path, key: Any) -> None:
    if key in KNOWN_KEYS:
        return
    close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
    known = ", ".join(KNOWN_KEYS)
    hint = f"did you mean {close[0]!r}? known settings: {known}" if close else f"known settings: {known}"
    raise InputError(f"{path}: unknown setting {key!r}", hint=hint)


def as_bool(value: Any, where: str) -> bool:
    """A boolean setting: a YAML boolean, or one of ``ACCEPTED`` in any case; anything else is refused.

    ``where`` names the file key or environment variable for the error line.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise InputError(f"{where} must be a boolean, not {value!r}", hint=f"use {ACCEPTED}")


def default_ttl(env: str) -> str | None:
    ttls = load().get("default_ttl") or {}  # checked by load()
    value = ttls.get(env)
    return str(value) if value else None


NO_PICKLE_ENV = "ZENPROVISION_NO_PICKLE"


def no_pickle() -> bool:
    """Refuse pickle-based artifacts (``no_pickle: true`` in settings.yaml, or the env variable).

    Unpickling runs code: with this on, only materializers that cannot (JSON, bytes, numpy
    without objects, parquet) load or store anything. A set environment variable overrides
    the file; an empty one counts as unset.
    """
    flag = os.environ.get(NO_PICKLE_ENV)
    if flag is not None and flag.strip():
        return as_bool(flag, NO_PICKLE_ENV)
    value = load().get("no_pickle", False)
    return as_bool(value, f"{_path()}: no_pickle")


def check() -> None:
    """Refuse a damaged settings file or a no_pickle value that is not a boolean before any work starts."""
    load()
    no_pickle()
