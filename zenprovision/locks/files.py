"""The locks of a local home: ``flock``s under ``$ZENPROVISION_HOME/locks``.

An ``flock`` on ``locks/<stack>.lock``: the kernel releases it when its holders die, so
the lock of a killed process is never stale for long; the file records the holder's PID
for the message the next command shows. The engine's runner subprocess inherits the
lock, so it stays held until the process that writes state has exited too.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
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


class FileStackLock:
    """Context manager; ``fd`` is passed to child processes that must keep it.

    Re-entrant within a process, so a command can hold the lock across the engine's work and
    the writes that follow it, while the engine takes the same lock inside.
    """

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.path: Path = home.locks_dir() / f"{stack}.lock"
        self.fd: int | None = None
        self.stale_holder: int | None = None

    def acquire(self) -> FileStackLock:
        held = _HELD.get(self._key)
        if held is not None:
            held[1] += 1
            self.fd = held[0]
            return self
        home.private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _flock_now(fd)
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

    def handoff(self) -> None:
        """Nothing to hand the engine's worker but ``fd``, which it inherits."""
        return None

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

    def __enter__(self) -> FileStackLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _flock_now(fd: int, tries: int = 20) -> None:
    """LOCK_EX without waiting for a holder, over a few ms: `provision stacks` and `unlock` probe a
    lock by taking it shared for an instant, which must not make a deploy fail as if it were held."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if attempt == tries - 1:
                raise
            time.sleep(0.005)


def holder(stack: str) -> str | None:
    """Who holds the stack's lock (``PID 4242 (provision recipe)``), or None if nobody does."""
    path = home.locks_dir() / f"{stack}.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return "PID " + (os.read(fd, 200).decode(errors="replace").strip() or "unknown")
    finally:
        os.close(fd)
    return None


def _lease_path(stack: str) -> Path:
    return home.locks_dir() / f"{stack}.lease"


def _runs_dir(stack: str) -> Path:
    return home.locks_dir() / f"{stack}.runs"


class FileRunLease:
    """A pipeline run's shared hold on its stack: runs share it, a destroy needs it alone.

    Besides the shared ``flock`` on ``locks/<stack>.lease``, the run keeps an exclusive
    ``flock`` on ``locks/<stack>.runs/<run id>.json`` (its id, PID and host), so a destroy
    can name the runs in its way, and a marker whose lock is free belongs to a dead run.
    """

    def __init__(self, stack: str, run_id: str) -> None:
        self.stack, self.run_id = stack, run_id
        self.marker = _runs_dir(stack) / f"{run_id}.json"
        self._fds: list[int] = []

    def acquire(self) -> FileRunLease:
        home.private_dir(_runs_dir(self.stack))  # 0700 whatever the umask, as the rest of the home
        lease = os.open(_lease_path(self.stack), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lease, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lease)
            raise StackLockedError(f"stack {self.stack!r} is being destroyed",
                                   hint="wait for the destroy to finish; then the stack is gone") from None
        marker = os.open(self.marker, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(marker, fcntl.LOCK_EX)
        os.write(marker, json.dumps(_owner(self.run_id)).encode())
        self._fds = [lease, marker]
        return self

    def release(self) -> None:
        self.marker.unlink(missing_ok=True)
        for fd in reversed(self._fds):
            os.close(fd)
        self._fds = []

    def __enter__(self) -> FileRunLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _owner(run_id: str) -> dict:
    import psutil

    return {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
            "started": psutil.Process().create_time(), "boot": psutil.boot_time()}


def active_runs(stack: str) -> list[dict]:
    """Runs holding a lease on ``stack`` (id, pid, host, started); markers of dead runs are removed."""
    folder = _runs_dir(stack)
    found = []
    for marker in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            fd = os.open(marker, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            marker.unlink(missing_ok=True)  # nobody holds it: its run is gone
        except BlockingIOError:
            try:
                found.append(json.loads(os.read(fd, 4096) or b"{}"))
            except ValueError:
                found.append({"run_id": marker.stem})
        finally:
            os.close(fd)
    return found


class FileDestroyLease:
    """The exclusive side of ``FileRunLease``: held by destroy, so no run starts or goes on under it."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        home.private_dir(_runs_dir(self.stack).parent)
        fd = self.fd if self.fd is not None else os.open(_lease_path(self.stack), os.O_RDWR | os.O_CREAT, 0o600)
        self.fd = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
