"""Where zenprovision keeps its files: one folder, ``$ZENPROVISION_HOME``.

Everything zenprovision writes (stack configs, engine state, locks, logs and the data of
local stacks) lives under it, so pointing the variable at a temp folder isolates a run.
"""

from __future__ import annotations

import os
from pathlib import Path

from zenprovision.errors import InputError

HOME_ENV = "ZENPROVISION_HOME"


def home() -> Path:
    """The home folder; from ``$ZENPROVISION_HOME`` or the platform's user data folder."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        if "://" in configured:  # never taken for a path: `s3://b/p` would become ./s3:/b/p
            raise InputError(
                f"{HOME_ENV}={configured} is a URL; this version keeps its home in a local folder",
                hint=f"set {HOME_ENV} to a folder, and share state through --backend s3://... instead",
            )
        return Path(configured).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("zenprovision", appauthor=False))


def stacks_dir() -> Path:
    return home() / "stacks"


def state_dir() -> Path:
    return home() / "state"


def locks_dir() -> Path:
    return home() / "locks"


def logs_dir() -> Path:
    return home() / "logs"


def stack_data_dir(stack: str) -> Path:
    """Folder for the data of a local stack (artifacts, model server files)."""
    return home() / "local" / stack
