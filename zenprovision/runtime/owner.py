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


def current() -> tuple[str, int, float, float]:
    """(host, PID, start time, boot time): the last two as psutil gives them, both on the wall clock."""
    import psutil

    return hostname(), os.getpid(), psutil.Process().create_time(), psutil.boot_time()


def same_start(process, started: float, boot: float | None, slack: float) -> bool:
    """Whether ``process`` (a psutil.Process) started when a record says: ``started`` is its psutil
    ``create_time`` and ``boot`` the machine's ``psutil.boot_time()``, both read when it was recorded.

    Both are the time since boot plus the boot time on the wall clock, and a step of the wall clock
    (NTP's first sync on a freshly booted machine, a manual change) moves every later reading of
    both by the step: so the time since boot is compared, which no clock change moves. A record
    without ``boot`` (written by an earlier version) is compared as it was, on the wall clock.
    """
    import psutil

    if boot is None:
        return abs(process.create_time() - started) <= slack
    return abs((process.create_time() - psutil.boot_time()) - (started - boot)) <= slack


def gone(host: str | None, pid: int | None, started: float | None, boot: float | None = None) -> bool:
    """True when the owner certainly no longer runs; unknown owners (older runs, other hosts) are not gone."""
    if not host or not pid or host != hostname():
        return False
    import psutil

    try:
        process = psutil.Process(pid)
        return process.status() == psutil.STATUS_ZOMBIE or not same_start(process, started or 0.0, boot, 1.0)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
