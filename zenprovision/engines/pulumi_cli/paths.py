"""Where the pulumi engine keeps its files under ``$ZENPROVISION_HOME/pulumi``."""

from __future__ import annotations

from pathlib import Path

from zenprovision import home


def root() -> Path:
    return home.home() / "pulumi"


def state_dir() -> Path:
    """The default ``file://`` backend: stacks' state, history and locks."""
    return root() / "state"


def passphrase_file() -> Path:
    return root() / "passphrase"


def work_dir(stack: str) -> Path:
    """A stack's Pulumi project folder: a copy of its recipe plus ``Pulumi.<stack>.yaml``."""
    return root() / "work" / stack
