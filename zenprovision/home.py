"""Where zenprovision keeps its files: ``$ZENPROVISION_HOME``, a folder or a bucket URL.

Two places: ``shared()``, where a team's records live (stack configs, registry, embedded
state; a folder, ``s3://bucket/prefix`` or ``gs://bucket/prefix``), read and written through
``objects()``; and ``home()``, always this machine's folder (caches, logs, metadata, the
local recipe's data, settings). With a folder home both are that folder, so pointing the
variable at a temp folder isolates a run. The local home is private (0700) whatever the umask.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from zenprovision.errors import InputError

HOME_ENV = "ZENPROVISION_HOME"
LOCAL_HOME_ENV = "ZENPROVISION_LOCAL_HOME"  # this machine's folder when the home is a bucket


def home() -> Path:
    """This machine's folder: caches, logs, metadata, local-recipe data, per-user settings.

    ``$ZENPROVISION_HOME`` when it is a folder; when it is a bucket URL, the folder is
    ``$ZENPROVISION_LOCAL_HOME``, else the platform's user data folder. Never a URL.
    """
    configured = os.environ.get(HOME_ENV, "").strip()
    if configured and not is_url(configured):
        if configured[:4].lower().startswith(("s3:", "gs:", "gcs:")):  # s3:/bucket: a URL missing a slash?
            from zenprovision.homes.location import parse

            parse(configured)  # refuses one that is; ./s3:x is a folder, said so
        return Path(configured).expanduser().resolve()
    local = os.environ.get(LOCAL_HOME_ENV, "").strip()
    if local:
        if is_url(local):  # never taken for a path: `s3://b/p` would become ./s3:/b/p
            raise InputError(f"{LOCAL_HOME_ENV}={local} is a URL; it names this machine's own folder",
                             hint=f"set {LOCAL_HOME_ENV} to a folder, and the shared home in {HOME_ENV}")
        return Path(local).expanduser().resolve()
    return _user_data_dir()


def is_url(text: str) -> bool:
    return "://" in text


def configured_shared() -> tuple[str, str] | None:
    """(text, where it came from) of a shared home that is set, or None: the local folder is it."""
    configured = os.environ.get(HOME_ENV, "").strip()
    if configured and is_url(configured):
        return configured, HOME_ENV
    setting = _home_setting()
    return (setting, f"{home() / 'settings.yaml'}: home") if setting else None


def shared():  # -> zenprovision.homes.location.Location
    """Where the records a team shares live: ``$ZENPROVISION_HOME`` as a folder or a bucket URL.

    Stack configs, registry records, embedded engine state and locks live here; caches,
    logs, metadata and the local recipe's data always stay in the local ``home()``. A
    ``home:`` key in the local settings.yaml names it when ``$ZENPROVISION_HOME`` is no URL.
    """
    from zenprovision.homes.location import Location, parse

    found = configured_shared()
    if found is not None:
        return parse(found[0], source=found[1])
    return Location("file", path=home())


_OBJECTS: dict[tuple, object] = {}


def objects():  # -> zenprovision.homes.objects.Objects
    """The document store of ``shared()``: one per location and process (its etags live there).

    Keyed by the settings that decide the location, so a changed environment (``--home``,
    a test's monkeypatch) gets the store it names.
    """
    key = (os.environ.get(HOME_ENV, ""), os.environ.get(LOCAL_HOME_ENV, ""), _home_setting())
    found = _OBJECTS.get(key)
    if found is None:
        from zenprovision.homes.objects import open_home

        _OBJECTS.clear()
        found = _OBJECTS[key] = open_home(shared())
    return found


_SETTING = re.compile(r"^home:[ \t]*(.*?)[ \t]*(?:[ \t]#.*)?$", re.MULTILINE)


def _home_setting() -> str:
    """The ``home:`` line of the local settings.yaml (one plain or quoted value), without yaml.

    Read on every use of the home, so it must cost no more than reading a small file.
    """
    if is_url(os.environ.get(HOME_ENV, "").strip()):
        return ""
    try:
        text = (home() / "settings.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""  # settings.load() reports a damaged file where settings are used
    match = _SETTING.search(text)
    value = match.group(1) if match else ""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value.strip()


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

    try:
        return Path(user_data_dir("zenprovision", appauthor=False))
    except RuntimeError as exc:  # no $HOME and no home in the user database: a container's bare UID
        raise InputError(f"no folder for zenprovision's files: {exc}",
                         hint=f"set {HOME_ENV} to a folder, or HOME to yours") from None


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
