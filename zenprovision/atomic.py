"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from zenprovision.errors import InputError
from zenprovision.home import home, private_dir


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` through a temp file, fsync and rename.

    Private by default (0600, in folders that are 0700 under the home), whatever the umask.
    """
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """``atomic_write_text`` for bytes: a reader sees the old file or the new one."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_mode(path: str | os.PathLike) -> int:
    """The mode to create a file with below ``path``: 0600 inside the home, private whatever the
    umask (docs/reliability.md); elsewhere 0666, cut by the umask as any program's files are."""
    try:
        root = Path(os.path.realpath(home()))
    except InputError:  # no folder for a home at all: nothing below it either
        return 0o666
    real = Path(os.path.realpath(path))
    return 0o600 if real == root or root in real.parents else 0o666
