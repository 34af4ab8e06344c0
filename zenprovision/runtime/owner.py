"""Who owns a run: host, PID and the process's start time, so a reused PID is not mistaken
for the run's process after a reboot or a kill.

psutil is imported when a run starts or a running run is checked: listing finished runs
never pays for it."""

from __future__ import annotations

import os
import sys


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
    ``create_time`` and ``boot`` the machine's ``psutil.boot_time()``, both read when it was recorded."""
    return abs(start_offset(process, started, boot)) <= slack


def start_offset(process, started: float, boot: float | None) -> float:
    """How much later than ``started`` (recorded with ``boot``, as for ``same_start``) ``process`` started.

    On Linux psutil's ``create_time`` is the time since boot plus the boot time on the wall clock
    (``btime`` of /proc/stat), and a step of the wall clock (NTP's first sync on a freshly booted
    machine, a manual change) moves every later reading by the step: so the time since boot is
    compared there, which no clock change moves. Elsewhere ``create_time`` is the wall clock at the
    start, read once, and is compared as it is; so is a record without ``boot`` (an earlier version's).
    """
    import psutil

    if boot is None or not sys.platform.startswith("linux"):
        return process.create_time() - started
    return (process.create_time() - psutil.boot_time()) - (started - boot)


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
