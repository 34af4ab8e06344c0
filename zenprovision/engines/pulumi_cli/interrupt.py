"""Ctrl-C during a CLI operation: let the CLI cancel cleanly, then report a cancelled command.

The SDK waits for the CLI inside ``subprocess.Popen``; a KeyboardInterrupt there would close
the CLI's pipes while it is still saving state. So the operation runs in a worker thread and
the main thread, on the first Ctrl-C, makes sure the CLI got SIGINT (a terminal sends it to
the whole process group; a ``kill -INT`` of our process does not) and waits for it to stop.
A second Ctrl-C stops the waiting; the CLI, which gets it too, then stops at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from zenprovision.errors import CancelledError

T = TypeVar("T")
CLI_NAME = "pulumi"


def run(operation: Callable[[], T], what: str) -> T:
    """Run ``operation`` (one SDK call); a Ctrl-C becomes CancelledError once the CLI stopped.

    Ctrl-C is taken by a handler that only counts presses, never by a KeyboardInterrupt, which
    could land between two statements here and leave the CLI running unwatched.
    """
    if threading.current_thread() is not threading.main_thread():
        return operation()  # signals reach the main thread only: nothing to wait for here
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        return operation()  # Ctrl-C ignored (nohup, a script's background job) or not Python's to handle
    outcome: dict[str, Any] = {}
    finished = threading.Event()  # not Thread.join: on 3.11 a Ctrl-C inside join() marks the thread dead
    presses: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: presses.append(signum))
                for signum in (signal.SIGINT, signal.SIGTERM)}  # SIGTERM: a CI cancel, `timeout`
    try:
        worker = threading.Thread(target=_capture, args=(operation, outcome, finished), name=f"pulumi {what}",
                                  daemon=True)
        worker.start()
        handled = 0
        while not finished.wait(0.1):
            if len(presses) == handled:
                continue
            if handled:
                if signal.SIGINT in presses[handled:]:
                    break  # a second Ctrl-C: stop waiting; the CLI got it too and stops at once
                handled = len(presses)  # a SIGTERM after it: already stopping, keep waiting
                continue
            handled = len(presses)
            if presses[0] == signal.SIGTERM or not terminal_sent_it():  # a terminal sends only SIGINT to all
                signal_cli_children()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    if presses and "result" not in outcome:
        raise CancelledError(f"{what} interrupted; the CLI saved what finished",
                             hint="run the same command again") from outcome.get("error")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _capture(operation: Callable[[], Any], outcome: dict[str, Any], finished: threading.Event) -> None:
    try:
        outcome["result"] = operation()
    except BaseException as exc:  # handed to the main thread, which re-raises it
        outcome["error"] = exc
    finally:
        finished.set()


def terminal_sent_it() -> bool:
    """Are we the foreground process group of a terminal (so a Ctrl-C reached the CLI too)?"""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def signal_cli_children() -> list[int]:
    """Send SIGINT to our ``pulumi`` child processes; returns their pids."""
    import psutil

    sent = []
    for child in psutil.Process().children(recursive=False):
        try:
            if child.name() == CLI_NAME:
                child.send_signal(signal.SIGINT)
                sent.append(child.pid)
        except psutil.Error:
            continue
    return sent
