"""A lock per stack: one command at a time may change a stack.

An ``flock`` on ``locks/<stack>.lock``: the kernel releases it when its holders die, so
the lock of a killed process is never stale for long; the file records the holder's PID
for the message the next command shows. The engine's runner subprocess inherits the
lock, so it stays held until the process that writes state has exited too.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from zenprovision import home
from zenprovision.errors import StackLockedError


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_HELD: dict[str, list[int]] = {}  # stack -> [fd, depth]: re-entrant within one process


class StackLock:
    """Context manager; ``fd`` is passed to child processes that must keep it.

    Re-entrant within a process, so a command can hold the lock across the engine's work and
    the writes that follow it, while the engine takes the same lock inside.
    """

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.path: Path = home.locks_dir() / f"{stack}.lock"
        self.fd: int | None = None
        self.stale_holder: int | None = None

    def acquire(self) -> StackLock:
        held = _HELD.get(self._key)
        if held is not None:
            held[1] += 1
            self.fd = held[0]
            return self
        home.private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StackLockedError(
                f"stack {self.stack!r} is locked by PID {holder}",
                hint="another command is working on it; wait for it to finish and retry",
            ) from None
        previous = os.read(fd, 200).decode(errors="replace").split(" ", 1)[0]
        if previous.isdigit() and int(previous) != os.getpid() and not _pid_alive(int(previous)):
            self.stale_holder = int(previous)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        command = " ".join(os.path.basename(a) for a in sys.argv[:3])
        os.write(fd, f"{os.getpid()} ({command})".encode())
        self.fd = fd
        _HELD[self._key] = [fd, 1]
        return self

    @property
    def _key(self) -> str:
        return str(self.path)

    def release(self) -> None:
        """Close our descriptor; no explicit unlock, so a child that inherited it keeps the lock."""
        if self.fd is None:
            return
        held = _HELD.get(self._key)
        if held is not None:
            held[1] -= 1
            if held[1] > 0:
                self.fd = None
                return
            del _HELD[self._key]
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> StackLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
