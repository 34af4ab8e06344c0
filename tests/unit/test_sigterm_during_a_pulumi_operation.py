"""SIGTERM (a CI cancel, ``timeout``) stops a Pulumi CLI operation as Ctrl-C does: the CLI is
asked to stop (SIGINT) and waited for while it saves its state, then the command is cancelled.

``zenprovision.cli.main`` turns SIGTERM into KeyboardInterrupt; ``interrupt.run`` takes Ctrl-C
with a handler of its own, so without one for SIGTERM too a KeyboardInterrupt leaves its wait at
once and the CLI goes on unwatched (what its docstring says must not happen).
"""

from __future__ import annotations

import os
import signal
import threading

from zenprovision.engines.pulumi_cli import interrupt
from zenprovision.errors import CancelledError


def test_sigterm_waits_for_the_cli_then_cancels(monkeypatch):
    told, stop, finished = [], threading.Event(), threading.Event()
    monkeypatch.setattr(interrupt, "signal_cli_children", lambda: told.append("SIGINT") or stop.set() or [4242])
    monkeypatch.setattr(interrupt, "terminal_sent_it", lambda: False)  # `kill -TERM`: only our process got it
    started = threading.Event()

    def operation():
        started.set()
        stop.wait(60)  # the CLI runs until asked to stop
        finished.set()  # ... and then saves its state
        raise RuntimeError("update canceled")

    def terminate_when_started():
        started.wait(60)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # as zenprovision.cli.main sets it
    try:
        threading.Thread(target=terminate_when_started, daemon=True).start()
        try:
            interrupt.run(operation, "up of stack 'dev'")
            outcome: BaseException | None = None
        except BaseException as exc:  # noqa: BLE001 - a KeyboardInterrupt must not reach pytest
            outcome = exc
        left_running = not finished.is_set()
        stop.set()
        finished.wait(60)  # whatever happened, the operation's thread is done before the next test
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert isinstance(outcome, CancelledError), repr(outcome)
    assert told == ["SIGINT"] and not left_running
