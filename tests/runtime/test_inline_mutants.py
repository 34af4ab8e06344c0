"""The in-process executor (``--in-process``), as mutation testing showed it needs pinning down: a step runs when
the scheduler waits for it, in the order submitted; its failure is its future's, a stop is the run's; what a step
does to the stop handlers and the output streams is undone when it returns; a stop the step swallowed still stops
the run. The executor itself, in pytest's main thread; signals are raised at this process, with handlers of the
test's own, all put back after each test.

Mutants left alive are equivalent: the defaults of ``shutdown``'s ``wait`` and ``cancel_futures``, which it
ignores (what was not waited for is always dropped)."""

from __future__ import annotations

import functools
import io
import signal
import sys
import threading
from concurrent.futures import CancelledError

import pytest

from zenprovision.runtime.execution import IN_PROCESS
from zenprovision.runtime.orchestrators import inline
from zenprovision.runtime.orchestrators.inline import STOP_SIGNALS, InlineExecutor


@pytest.fixture(autouse=True)
def run_handlers():
    """The run's handlers: Python's Ctrl-C handler and a SIGTERM one that raises too (as the CLI's does)."""
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    yield {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: on_term}
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_the_stop_signals_are_sigint_and_sigterm():
    assert STOP_SIGNALS == (signal.SIGINT, signal.SIGTERM)


# ---------------------------------------------------------------- when and in which order steps run


def test_a_step_runs_when_waited_for_in_the_order_submitted():
    executor = InlineExecutor()
    ran = []
    first = executor.submit(lambda: ran.append("a") or "A")
    second = executor.submit(lambda x, y=0: ran.append(f"b{x}{y}") or "B", 1, y=2)
    third = executor.submit(lambda: ran.append("c") or "C")
    assert ran == [] and not first.done()
    assert executor.wait_any([second]) == {second}
    assert ran == ["a", "b12"]  # the one submitted before it ran first, the one after waits
    assert (first.result(), second.result()) == ("A", "B") and not third.done()
    assert executor.wait_any([first, second]) == {first, second}  # done already: nothing more runs
    assert ran == ["a", "b12"]
    assert executor.wait_any([third, second]) == {second}  # one done is enough: the wait returns
    assert not third.done()
    assert executor.wait_any([third]) == {third} and ran == ["a", "b12", "c"]
    executor.close()


def test_waiting_on_a_future_of_no_step_submitted_here_fails_rather_than_spins():
    executor = InlineExecutor()
    from concurrent.futures import Future

    ran = []
    executor.submit(lambda: ran.append(1))
    with pytest.raises(RuntimeError) as caught:
        executor.wait_any([Future()])
    assert str(caught.value) == "waited for steps that were never submitted to this executor"
    assert ran == [1]  # what was queued ran first
    with pytest.raises(RuntimeError):
        executor.wait_any([])
    executor.close()


def test_a_cancelled_step_never_runs():
    executor = InlineExecutor()
    ran = []
    cancelled = executor.submit(lambda: ran.append("cancelled"))
    kept = executor.submit(lambda: ran.append("kept"))
    assert cancelled.cancel()
    assert executor.wait_any([kept]) == {kept}
    assert ran == ["kept"]
    executor.close()


def test_shutdown_drops_what_was_not_waited_for():
    executor = InlineExecutor()
    ran = []
    futures = [executor.submit(lambda i=i: ran.append(i)) for i in range(3)]
    executor.wait_any(futures[:1])
    executor.shutdown()
    assert ran == [0]
    assert futures[0].result() is None and futures[1].cancelled() and futures[2].cancelled()
    with pytest.raises(CancelledError):
        futures[1].result()
    assert executor.wait_any(futures[1:]) == set(futures[1:])  # cancelled is done: nothing runs
    assert ran == [0]
    executor.close()


def test_a_steps_exception_is_its_futures_not_the_runs():
    executor = InlineExecutor()

    def fails():
        raise ValueError("bad step")

    failed = executor.submit(fails)
    after = executor.submit(lambda: "after")
    assert executor.wait_any([failed]) == {failed}
    assert isinstance(failed.exception(), ValueError) and str(failed.exception()) == "bad step"
    assert executor.wait_any([after]) == {after} and after.result() == "after"
    executor.close()


def test_a_keyboard_interrupt_out_of_a_step_stops_the_run():
    executor = InlineExecutor()

    def stopped():
        raise KeyboardInterrupt

    future = executor.submit(stopped)
    with pytest.raises(KeyboardInterrupt):
        executor.wait_any([future])
    assert IN_PROCESS.get() is None
    executor.close()


# ---------------------------------------------------------------- what a step sees and leaves behind


def test_a_step_runs_with_the_executors_stop_check_and_it_is_gone_after():
    executor = InlineExecutor()
    seen = []
    future = executor.submit(lambda: seen.append(IN_PROCESS.get()))
    executor.wait_any([future])
    check, = seen
    assert check is not None and check() is False
    assert IN_PROCESS.get() is None
    executor.close()


def test_output_streams_a_step_replaced_are_put_back():
    executor = InlineExecutor()
    streams = (sys.stdout, sys.stderr)

    def capture():
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()

    def fails_capturing():
        capture()
        raise ValueError("x")

    for fn in (capture, fails_capturing):
        executor.wait_any([executor.submit(fn)])
        assert (sys.stdout, sys.stderr) == streams
    executor.close()


def test_the_runs_handlers_are_watched_while_it_runs_and_its_own_again_after(run_handlers):
    executor = InlineExecutor()
    for signum, handler in run_handlers.items():
        watching = signal.getsignal(signum)
        assert watching is not handler and callable(watching)
    executor.close()
    for signum, handler in run_handlers.items():
        assert signal.getsignal(signum) is handler


def test_handlers_a_step_put_in_are_taken_out_when_it_returns(run_handlers):
    executor = InlineExecutor()
    watching = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    seen = []

    def takes_signals():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        seen.append(IN_PROCESS.get()())  # a handler of its own: a stop may be unseen
        return 1

    future = executor.submit(takes_signals)
    executor.wait_any([future])
    assert future.result() == 1 and seen == [True]
    assert {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} == watching
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C stops the run again
        signal.raise_signal(signal.SIGINT)
    executor.close()
    assert {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} == run_handlers


def test_a_run_that_ignores_a_signal_keeps_ignoring_it():
    """A run started in the background (SIG_IGN) is not made stoppable by it, nor is SIG_DFL wrapped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    executor = InlineExecutor()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    seen = []

    def changes_them():
        seen.append(IN_PROCESS.get()())
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        seen.append(IN_PROCESS.get()())

    executor.wait_any([executor.submit(changes_them)])
    assert seen == [False, True]
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    executor.close()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_handler_not_set_from_python_may_hide_a_stop(monkeypatch):
    executor = InlineExecutor()
    seen = []
    real = signal.getsignal

    def step():
        monkeypatch.setattr(inline.signal, "getsignal", lambda signum: None if signum == signal.SIGTERM else real(signum))
        seen.append(IN_PROCESS.get()())
        monkeypatch.setattr(inline.signal, "getsignal", real)

    executor.wait_any([executor.submit(step)])
    assert seen == [True]
    executor.close()


# ---------------------------------------------------------------- a stop while a step runs


@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_a_stop_the_step_swallowed_still_stops_the_run_after_it(signum):
    executor = InlineExecutor()
    seen = []

    def swallows():
        try:
            signal.raise_signal(signum)
        except KeyboardInterrupt:
            seen.append(IN_PROCESS.get()())
        return "swallowed"

    future = executor.submit(swallows)
    after = executor.submit(lambda: "never")
    with pytest.raises(KeyboardInterrupt):
        executor.wait_any([future])
    assert seen == [True]
    assert future.result() == "swallowed" and not after.done()
    executor.close()


def test_a_stop_before_a_step_is_not_that_steps(run_handlers):
    """A stop noted in an earlier step stopped the run then (or was its own): the next step starts clean."""
    executor = InlineExecutor()
    seen = []

    def swallows():
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass

    with pytest.raises(KeyboardInterrupt):
        executor.wait_any([executor.submit(swallows)])
    future = executor.submit(lambda: seen.append(IN_PROCESS.get()()) or "ran")
    try:
        assert executor.wait_any([future]) == {future}
    except KeyboardInterrupt:  # not out of the test: it would end the whole session
        pytest.fail("the stop noted in the step before stopped this one too")
    assert future.result() == "ran" and seen == [False]
    executor.close()


def test_a_stop_raises_through_the_runs_own_handler():
    stops = []
    executor_stops: list[int] = []

    def handler(signum, frame):
        stops.append(signum)
        return "handled"

    frames = []

    def handler_seeing_frames(signum, frame):
        frames.append(frame)
        return handler(signum, frame)

    noted = inline._noting(handler_seeing_frames, executor_stops)
    frame = object()
    assert noted(signal.SIGTERM, frame) == "handled"
    assert executor_stops == [signal.SIGTERM] and stops == [signal.SIGTERM] and frames == [frame]


# ---------------------------------------------------------------- off the main thread


def test_an_executor_off_the_main_thread_leaves_the_signals_alone(run_handlers):
    results = {}

    def in_thread():
        executor = InlineExecutor()
        results["handlers"] = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
        future = executor.submit(lambda: IN_PROCESS.get()())
        executor.wait_any([future])
        results["stopped"] = future.result()
        executor.close()

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(60)
    assert results == {"handlers": run_handlers, "stopped": False}
    assert inline._handlers() == run_handlers  # the main thread's are the run's


def _stray_stop_fails_the_test(test):
    """A KeyboardInterrupt out of a test ends pytest's whole session (and a mutation run reads that as a user's
    Ctrl-C, not a killed mutant): one the test did not expect fails that test instead."""

    @functools.wraps(test)
    def guarded(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise AssertionError("a KeyboardInterrupt the test did not expect") from exc

    return guarded


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and callable(_test):
        globals()[_name] = _stray_stop_fails_the_test(_test)
