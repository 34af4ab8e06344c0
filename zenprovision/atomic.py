"""Crash-safe file writes: a reader sees the old file or the new one, never half of one.

A write goes to a temp file beside its target, named ``.<name>.tmp-<machine>-<pid>-<random>``,
then renamed. A ``kill -9`` between the two leaves the temp file; whoever writes that target
next (and a resumed run, in its old run's folder) removes the temp files whose writer is a
process of this machine that no longer exists (``remove_stale_temps``), never a live writer's.
"""

from __future__ import annotations

import errno
import os
import re
import sys
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
    prefix = f".{path.name}.tmp-"
    tmp = path.parent / temp_name(f".{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode != 0o600:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    remove_stale_temps(path.parent, prefix)


def temp_name(name: str) -> str:
    """``<name>.tmp-<machine>-<pid>-<random>``: whose temp file it is, for ``remove_stale_temps``."""
    return f"{name}.tmp-{_machine()}-{os.getpid()}-{os.urandom(6).hex()}"


_TEMP = re.compile(r"\.tmp-([0-9a-f]{8})-([1-9][0-9]{0,8})-[0-9a-f]{12}")
_MACHINE: list[str] = []


def _machine() -> str:
    """This machine and PID namespace, hashed: a PID means the same process only where both agree."""
    if not _MACHINE:
        import hashlib
        import socket

        try:
            namespace = os.readlink("/proc/self/ns/pid")
        except OSError:
            namespace = ""
        _MACHINE.append(hashlib.sha256(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:8])
    return _MACHINE[0]


def is_stale_temp(name: str) -> bool:
    """A temp file of ``temp_name`` whose writer, a process of this machine, is gone.

    A temp file of another machine, or of a PID that lives (its writer, or a process that reused
    its PID), is not stale: it is never removed. Neither is one named as earlier versions named them.
    """
    found = _TEMP.search(name)
    if found is None or found.end() != len(name) or found.group(1) != _machine():
        return False
    pid = int(found.group(2))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: another user's process lives under that PID
        return False
    return False


def remove_stale_temps(folder: str | os.PathLike, prefix: str = "") -> int:
    """Remove the stale temp files (``is_stale_temp``) in ``folder`` whose names start with ``prefix``.

    Returns how many; a folder that is gone or cannot be listed is not an error: this only tidies.
    """
    removed = 0
    try:
        entries = [entry.name for entry in os.scandir(folder) if entry.name.startswith(prefix) and ".tmp-" in entry.name]
    except OSError:
        return 0
    for name in entries:
        if is_stale_temp(name):
            try:
                os.unlink(os.path.join(folder, name))
                removed += 1
            except OSError:
                pass
    return removed


# fsync of a folder where the file system cannot sync folders (some FUSE, network and
# Windows-backed file systems answer EINVAL or ENOTSUP): the rename stands, nothing to say.
_NO_FOLDER_SYNC = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF, errno.EISDIR,
                             errno.EACCES, errno.EPERM, errno.EROFS})


def _fsync_dir(folder: Path) -> None:
    """Make the rename survive a power cut where the file system can; never fail a write that is done.

    When this runs the new file is in place (its data synced): raising here would report as failed
    a write that every reader already sees, and a caller would retry or undo what stands. A file
    system that cannot sync folders is not an error; any other failure (EIO: the disk) is one
    warning line, since the rename may not survive a power cut.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_FOLDER_SYNC:
            print(f"warning: the folder {folder} could not be synced after a write ({exc.strerror or exc}): "
                  "the file is written but may not survive a power cut; check the disk", file=sys.stderr)
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
