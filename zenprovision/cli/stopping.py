"""SIGINT and SIGTERM stop a command the same way: a KeyboardInterrupt its code already handles.

SIGTERM is what a CI job's cancel, ``timeout`` or a service manager sends. Handled as Ctrl-C,
the engine's worker finishes the resource in flight and the stack's record says the command
failed, instead of the command dying with its worker left to guess. A SIGTERM that follows an
interrupt (a supervisor escalating after its SIGINT) does not escalate: only a second Ctrl-C
does. Processes forked from the command (pool workers) start with the handlers it began with.
"""

from __future__ import annotations

import os
import signal
from typing import Any

_stopping = False
_original: dict[int, Any] = {}


def _on_signal(signum: int, frame: Any) -> None:
    global _stopping
    if signum == signal.SIGTERM and _stopping:
        return  # already stopping: let the work in flight finish
    _stopping = True
    raise KeyboardInterrupt


def _restore_in_child() -> None:
    for signum, handler in _original.items():
        signal.signal(signum, handler)


def install() -> None:
    """Take SIGINT and SIGTERM, unless they were ignored when the command started (a background job)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler in (signal.SIG_IGN, None):
            continue
        _original[signum] = handler
        signal.signal(signum, _on_signal)
    if _original:
        os.register_at_fork(after_in_child=_restore_in_child)


def uninstall() -> None:
    """Once the command has answered: a signal while the interpreter shuts down ends it plainly."""
    _restore_in_child()
