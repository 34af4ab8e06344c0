"""Who owns a run: host, PID and the process's start time, so a reused PID is not mistaken
for the run's process after a reboot or a kill.

psutil is imported when a run starts or a running run is checked: listing finished runs
never pays for it."""

from __future__ import annotations

import os


def hostname() -> str:
    """The host's name as ``socket.gethostname`` gives it; the socket module is imported only where
    ``os.uname`` is missing, so ``provision runs`` does not pay for it."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def current() -> tuple[str, int, float]:
    import psutil

    return hostname(), os.getpid(), psutil.Process().create_time()


def gone(host: str | None, pid: int | None, started: float | None) -> bool:
    """True when the owner certainly no longer runs; unknown owners (older runs, other hosts) are not gone."""
    if not host or not pid or host != hostname():
        return False
    import psutil

    try:
        process = psutil.Process(pid)
        return process.status() == psutil.STATUS_ZOMBIE or abs(process.create_time() - (started or 0.0)) > 1.0
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
