"""Where zenprovision keeps its files: one folder, ``$ZENPROVISION_HOME``.

Everything zenprovision writes (stack configs, engine state, locks, logs and the data of
local stacks) lives under it, so pointing the variable at a temp folder isolates a run.
The home is private (0700) whatever the umask: nothing under it is readable by other users.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from zenprovision.errors import InputError

HOME_ENV = "ZENPROVISION_HOME"
LOCAL_HOME_ENV = "ZENPROVISION_LOCAL_HOME"  # this machine's folder when the home is a bucket


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
    return _user_data_dir()


def is_url(text: str) -> bool:
    return "://" in text


def shared():  # -> zenprovision.homes.location.Location
    """Where the records a team shares live: ``$ZENPROVISION_HOME`` as a folder or a bucket URL.

    Stack configs, registry records, embedded engine state and locks live here; caches,
    logs, metadata and the local recipe's data always stay in the local ``home()``.
    """
    from zenprovision.homes.location import Location, parse

    configured = os.environ.get(HOME_ENV, "").strip()
    if configured and is_url(configured):
        return parse(configured)
    return Location("file", path=home())


def _user_data_dir() -> Path:
    """platformdirs' user data folder; its common Linux case computed as it does, without it.

    Importing platformdirs costs about as much as the rest of ``provision stacks``. The case
    taken here: Linux, an absolute $HOME and no $XDG_DATA_HOME (a test checks it agrees).
    """
    user_home = os.environ.get("HOME", "")
    plain = sys.platform == "linux" and not os.environ.get("XDG_DATA_HOME", "").strip() and "ANDROID_ROOT" not in os.environ
    if plain and user_home.startswith("/"):
        return Path(user_home) / ".local" / "share" / "zenprovision"
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


def private_dir(path: Path) -> Path:
    """Create the folder ``path``; folders made inside the home are 0700, and so is the home.

    An existing home of ours that others could read is tightened too: stack configs, logs
    and model files are nobody else's business.
    """
    root = home()
    missing = []
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        if _inside(folder, root):
            os.chmod(folder, 0o700)  # mkdir's mode is cut by the umask; chmod is not
    if not Path(path).is_dir():
        raise NotADirectoryError(f"{path} exists and is not a folder")
    if _inside(Path(path), root):
        _tighten(root)
    return Path(path)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _tighten(folder: Path) -> None:
    try:
        info = folder.stat()
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            os.chmod(folder, 0o700)
    except OSError:
        pass
