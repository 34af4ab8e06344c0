"""An executor that runs each step in the run's own process (``--in-process``), when the run waits for it.

What ZenML's local orchestrator and Dagster's in-process executor do: no worker to start or
hand a step to, so a short step costs about a third less (docs/reliability.md), and a
breakpoint in a step stops in the terminal the run was started from. What it gives up is
isolation: a step that crashes the interpreter ends the run (``--resume`` picks it up), and
steps run one at a time.

What a step does to the signals that stop the run (SIGINT, SIGTERM: it ignores them, or
installs its own handler) holds while the step runs and is undone when it returns: the run's
Ctrl-C, a CI cancel and ``destroy --force`` must still stop the steps after it, as they do
when each step runs in a worker. So is a ``sys.stdout`` or ``sys.stderr`` the step replaced
(an output capture left in place): the run reports through them. A stop that arrives while a
step runs stops the run after it, even when the step caught the KeyboardInterrupt (``except
BaseException``, a retry loop, a pipeline run inside the step that reports its own abort as
an error): on workers, the run's process takes the signal, not the step. A KeyboardInterrupt
the step raised itself, with no stop signal behind it, is the step's own failure, as on a worker.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any

from zenprovision.runtime.execution import IN_PROCESS

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _handlers() -> dict[int, Any]:
    """The run's handlers of the stop signals, where this thread can put them back (the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: handler for signum in STOP_SIGNALS if (handler := signal.getsignal(signum)) is not None}


def _restore(handlers: dict[int, Any]) -> None:
    for signum, handler in handlers.items():
        if signal.getsignal(signum) is not handler:
            signal.signal(signum, handler)


def _noting(handler: Callable[[int, Any], Any], stops: list[int]) -> Callable[[int, Any], Any]:
    def noted(signum: int, frame: Any) -> Any:
        stops.append(signum)  # before the handler: it raises KeyboardInterrupt
        return handler(signum, frame)

    return noted


class InlineExecutor(Executor):
    """Steps run one at a time, each when the scheduler waits for it (``wait_any``), not when it is
    submitted: the scheduler then records each step as it returns, before the next one runs, as
    it records each worker's reply. A finished step's successors are all submitted at once
    (a fan-out); run at submission, every one of them ran before any was recorded, and a Ctrl-C
    or kill -9 in the last lost them all.

    From its start to ``close`` the run's stop handlers are wrapped to note each stop (one
    ``signal.signal`` per run, not per step); after each step they are checked and put back if
    the step replaced them."""

    def __init__(self) -> None:
        self._queue: deque[tuple[Future, Callable[..., Any], tuple, dict]] = deque()
        self._stops: list[int] = []
        self._handlers = _handlers()  # the run's, put back by ``close``
        self._watched = {signum: _noting(handler, self._stops) for signum, handler in self._handlers.items()
                         if callable(handler)}  # not SIG_IGN (a background job) nor SIG_DFL
        self._watch()

    def _watch(self) -> None:
        """Our wrappers, and the run's handlers it does not wrap (SIG_IGN, SIG_DFL), where a step changed them."""
        for signum, handler in self._handlers.items():
            wanted = self._watched.get(signum, handler)
            if signal.getsignal(signum) is not wanted:
                signal.signal(signum, wanted)

    def close(self) -> None:
        """The run is over: its own handlers again."""
        _restore(self._handlers)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._queue.append((future, fn, args, kwargs))
        return future

    def wait_any(self, futures: Iterable[Future]) -> set[Future]:
        """Run submitted steps in the order submitted until one of ``futures`` is done."""
        waited = set(futures)
        done = {future for future in waited if future.done()}
        while not done and self._queue:
            future, fn, args, kwargs = self._queue.popleft()
            if future.set_running_or_notify_cancel():
                self._run(future, fn, args, kwargs)
            done = {future} & waited
        if not done:  # nothing left to run would finish them: fail, never spin
            raise RuntimeError("waited for steps that were never submitted to this executor")
        return done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """What was submitted and not yet waited for is dropped: its steps never started."""
        while self._queue:
            self._queue.popleft()[0].cancel()

    def _stopped(self) -> bool:
        """During a step: a stop signal came; or one may have unseen: the step put in a handler of its
        own, or the process has one not set from Python. Signals raise only in the main thread."""
        if self._stops:
            return True
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in STOP_SIGNALS:
            current = signal.getsignal(signum)
            if current is None or current is not self._watched.get(signum, self._handlers.get(signum)):
                return True
        return False

    def _run(self, future: Future, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        """Ctrl-C is not the step's failure but the run's end, so it propagates (``_stopped``)."""
        self._stops.clear()  # one noted before this step has stopped the run already, or was its own
        streams = (sys.stdout, sys.stderr)
        token = IN_PROCESS.set(self._stopped)
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the task's own failure, for its future
            future.set_exception(exc)
        finally:
            IN_PROCESS.reset(token)
            self._watch()
            sys.stdout, sys.stderr = streams
        if self._stops:  # the step caught the stop (its output, if any, is not recorded: resume runs it again)
            raise KeyboardInterrupt
