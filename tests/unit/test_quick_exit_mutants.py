"""``quick_exit``, as mutation testing showed it needs pinning down: the engine worker and the local
MLServer end through it, so what their parent observes is its doing: the exit status (an int
returned or given to ``sys.exit``, 0 for None, 1 with the message or traceback on stderr), the
non-daemon threads joined, ``atexit`` functions run and the standard streams flushed, in that
order (an ``atexit`` function may still print), whatever of it fails.

The in-process tests replace only what would end pytest's own process (``os._exit``,
``threading._shutdown``, ``atexit._run_exitfuncs``); one test runs it for real in a child.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from zenprovision import quick_exit
from zenprovision.quick_exit import exit_status, run_then_exit


class Exited(BaseException):
    """Raised in place of ``os._exit`` / ``_exit``: the status the process would have ended with."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _raise_exited(code: int):
    raise Exited(code)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), (2, 2), (True, 1), (False, 0)])
def test_the_status_is_the_int_given_and_0_for_none(capsys, code, status):
    assert exit_status(code) == status
    assert capsys.readouterr().err == ""  # nothing printed for a status


@pytest.mark.parametrize("message", ["bad input: no such stack", ["a list"]])
def test_anything_else_is_printed_on_stderr_and_exits_1(capsys, message):
    assert exit_status(message) == 1
    captured = capsys.readouterr()
    assert captured.err == f"{message}\n" and captured.out == ""


def _run(monkeypatch, main) -> int:
    monkeypatch.setattr(quick_exit, "_exit", _raise_exited)
    with pytest.raises(Exited) as exited:
        run_then_exit(main)
    return exited.value.code


@pytest.mark.parametrize(("returned", "status"), [(None, 0), (0, 0), (4, 4)])
def test_run_then_exit_exits_with_what_main_returns(monkeypatch, capsys, returned, status):
    assert _run(monkeypatch, lambda: returned) == status
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("code", "status", "err"), [(None, 0, ""), (0, 0, ""), (5, 5, ""),
                                                     ("stopped: port in use", 1, "stopped: port in use\n")])
def test_run_then_exit_exits_as_sys_exit_would(monkeypatch, capsys, code, status, err):
    def main():
        sys.exit(code)

    assert _run(monkeypatch, main) == status
    assert capsys.readouterr().err == err


@pytest.mark.parametrize("error", [ValueError("the state is damaged"), KeyboardInterrupt()])
def test_what_main_raises_is_a_traceback_and_exit_1(monkeypatch, capsys, error):
    def main():
        raise error

    assert _run(monkeypatch, main) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and type(error).__name__ in err
    assert "the state is damaged" in err or isinstance(error, KeyboardInterrupt)


class Stream:
    def __init__(self, name: str, done: list[str], error: type[Exception] | None = None) -> None:
        self.name, self.done, self.error = name, done, error

    def flush(self) -> None:
        self.done.append(f"flush {self.name}")
        if self.error is not None:
            raise self.error("closed")


@pytest.fixture
def teardown(monkeypatch) -> list[str]:
    """What ``_exit`` does, in order, with the process-ending parts recorded instead."""
    done: list[str] = []
    monkeypatch.setattr(threading, "_shutdown", lambda: done.append("join threads"))
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: done.append("atexit"))

    def os_exit(code: int):
        done.append(f"exit {code}")
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", os_exit)
    return done


def streams(monkeypatch, done: list[str], stdout: object = None, stderr: object = None) -> None:
    """Set in the test itself: pytest's capture puts its own streams back after fixtures are set up."""
    monkeypatch.setattr(sys, "stdout", stdout or Stream("stdout", done))
    monkeypatch.setattr(sys, "stderr", stderr or Stream("stderr", done))


@pytest.mark.parametrize("code", [0, 1, 7])
def test_exit_joins_threads_runs_atexit_flushes_then_ends_with_the_status(teardown, monkeypatch, code):
    streams(monkeypatch, teardown)
    with pytest.raises(Exited):
        quick_exit._exit(code)
    assert teardown == ["join threads", "atexit", "flush stdout", "flush stderr", f"exit {code}"]


@pytest.mark.parametrize("error", [OSError, ValueError])
def test_a_stream_that_cannot_be_flushed_stops_neither_the_other_nor_the_exit(teardown, monkeypatch, error):
    streams(monkeypatch, teardown, stdout=Stream("stdout", teardown, error))
    with pytest.raises(Exited):
        quick_exit._exit(3)
    assert teardown == ["join threads", "atexit", "flush stdout", "flush stderr", "exit 3"]


def test_a_stream_that_is_gone_stops_neither_the_other_nor_the_exit(teardown, monkeypatch):
    streams(monkeypatch, teardown, stdout=object())  # no flush: replaced by something that is no stream
    with pytest.raises(Exited):
        quick_exit._exit(0)
    assert teardown == ["join threads", "atexit", "flush stderr", "exit 0"]


def test_the_status_is_kept_when_the_teardown_itself_fails(teardown, monkeypatch):
    def broken():
        raise RuntimeError("a thread cannot be joined")

    monkeypatch.setattr(threading, "_shutdown", broken)
    streams(monkeypatch, teardown)
    with pytest.raises(Exited) as exited:
        quick_exit._exit(4)
    assert exited.value.code == 4 and teardown[-1] == "exit 4"


CHILD = textwrap.dedent("""
    import atexit, sys, threading, time
    from zenprovision.quick_exit import run_then_exit

    out = sys.argv[1]

    class Teardown:
        def __del__(self):  # runs only in the interpreter's teardown
            open(out + ".teardown", "w").close()

    kept = Teardown()

    def late():
        time.sleep(0.3)
        open(out + ".thread", "w").close()

    def main():
        atexit.register(lambda: print("atexit ran", end=""))
        threading.Thread(target=late).start()  # non-daemon: an exit waits for it
        print("buffered", end="")  # to a pipe: block-buffered, lost unless flushed
        return 6

    run_then_exit(main)
""")


def test_a_real_exit_waits_for_threads_runs_atexit_flushes_and_skips_the_teardown(tmp_path):
    out = tmp_path / "mark"
    child = subprocess.run([sys.executable, "-c", CHILD, str(out)], capture_output=True, text=True, timeout=120)
    assert child.returncode == 6, child.stderr
    assert child.stdout == "bufferedatexit ran" and child.stderr == ""
    assert (tmp_path / "mark.thread").exists()
    assert not (tmp_path / "mark.teardown").exists()
