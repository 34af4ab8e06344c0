"""End a process whose work is done without waiting for the interpreter's teardown.

Freeing the modules a server or worker imported (MLServer's web stack, the Pulumi SDK) took
0.15-0.5 s after its last useful act, and a destroy waited for that twice (issue 15, target
4). What an ordinary exit does that anyone can observe still happens: the threads it waits
for are joined, ``atexit`` functions run (``logging`` flushes its handlers there), the
standard streams are flushed, and the exit status says how the work ended.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, NoReturn


def run_then_exit(main: Callable[[], Any]) -> NoReturn:
    """Call ``main``, then exit with its status: an int it returns or ``sys.exit`` gives, 0 for
    None, 1 after printing a message it exited with or the traceback of what it raised."""
    code = 1
    try:
        code = exit_status(main())
    except SystemExit as exc:
        code = exit_status(exc.code)
    except BaseException:  # noqa: BLE001 - reported as the interpreter would, then exit 1
        traceback.print_exc()
    finally:
        _exit(code)


def exit_status(code: Any) -> int:
    """What ``sys.exit(code)`` would exit with, printing a message as it would."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _exit(code: int) -> NoReturn:
    try:
        threading._shutdown()  # the non-daemon threads an ordinary exit waits for
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):  # closed, replaced or gone: nothing to flush
                pass
    finally:
        os._exit(code)
