"""Worker processes that die with their parent, so a killed run leaves no orphan behind.

On Linux the kernel sends the worker SIGKILL when its parent dies (``PR_SET_PDEATHSIG``).
Elsewhere a daemon thread watches the parent's PID and ends the worker when it changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
WATCH_INTERVAL = 0.5


def die_with_parent(parent: int) -> str:
    """Call in the child first thing; ``parent`` is the PID it must not outlive.

    Returns how the tie is kept: ``"pdeathsig"`` or ``"watch"``.
    """
    how = "pdeathsig" if _set_pdeathsig() else "watch"
    if how == "watch":
        threading.Thread(target=_watch, args=(parent,), name="lifeline", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the tie was in place
        os._exit(1)
    return how


def _set_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    """A re-parented process has lost its parent: end at once, as SIGKILL would."""
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    os._exit(1)
