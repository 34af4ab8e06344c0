"""A Dask scheduler port held by a process that accepts connections and never answers.

distributed's ``connect`` waits for the peer's handshake without a timeout, so a ``Client`` to
such a port hangs for good. Every question zenprovision asks a scheduler is bounded instead: a
deploy notices that its scheduler exited (and starts it on another port), and a run or doctor
on a stack whose port was taken fails in one line.
"""

from __future__ import annotations

import itertools
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from zenprovision.blocks import dask_cluster, processes
from zenprovision.errors import OperationFailed
from zenprovision.runtime.orchestrators import dask as dask_orchestrator


@contextmanager
def silent_port(accepting: bool):
    """A port that takes connections and never writes: ``accepting`` accepts them, else they
    wait in the listen backlog (the kernel completes the TCP handshake either way)."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(16)
    taken, stop = [], threading.Event()

    def accept() -> None:
        held.settimeout(0.1)
        while not stop.is_set():
            try:
                taken.append(held.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    if accepting:
        thread.start()
    try:
        yield held.getsockname()[1]
    finally:
        stop.set()
        if accepting:
            thread.join()
        for conn in taken:
            conn.close()
        held.close()  # also what unblocks a connect still waiting on it


def in_thread(call, timeout: float):
    """``call()`` on a thread; (finished in time, its result or exception, the thread)."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["value"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive(), outcome.get("value"), thread


@pytest.mark.parametrize("accepting", [False, True], ids=["backlog", "accepted"])
def test_asking_a_silent_port_gives_up_at_its_timeout(accepting):
    with silent_port(accepting) as port:
        started = time.monotonic()
        with pytest.raises(OSError, match=f"no answer from tcp://127.0.0.1:{port} in 0.5s"):
            dask_orchestrator.scheduler_workers(f"tcp://127.0.0.1:{port}", timeout=0.5)
        assert time.monotonic() - started < 10  # 0.5 s and a loaded machine's slack; unbounded before


def test_a_port_nobody_listens_on_is_an_oserror():
    port = processes.free_port()
    with pytest.raises(OSError):
        dask_orchestrator.scheduler_workers(f"tcp://127.0.0.1:{port}", timeout=0.5)


@pytest.mark.parametrize("accepting", [False, True], ids=["backlog", "accepted"])
def test_waiting_for_workers_sees_the_scheduler_exit_behind_a_silent_port(tmp_path, accepting):
    """The scheduler exits ("address already in use") while we ask the port's silent holder."""
    scheduler = processes.subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    try:
        with silent_port(accepting) as port:
            finished, outcome, thread = in_thread(
                lambda: dask_cluster._wait_for_workers(f"tcp://127.0.0.1:{port}", 1, {"scheduler": scheduler},
                                                       tmp_path), timeout=60)
        thread.join()  # closing the port unblocks a wait that hung (before the fix)
    finally:
        scheduler.kill()
        scheduler.wait()
    assert finished, "waiting for workers hung on a port that accepts and never answers"
    assert isinstance(outcome, processes.ServerFailed)
    assert str(outcome) == f"dask scheduler exited with code 0 before it was ready; its log: {tmp_path / 'scheduler.log'}"


@pytest.mark.parametrize("accepting", [False, True], ids=["backlog", "accepted"])
def test_a_run_on_a_scheduler_port_that_never_answers_fails_in_one_line(monkeypatch, accepting):
    from zenprovision.runtime.orchestrators.base import RunContext

    monkeypatch.setattr(dask_orchestrator, "CONNECT_TIMEOUT", 0.5, raising=False)
    with silent_port(accepting) as port:
        address = f"tcp://127.0.0.1:{port}"
        orchestrator = dask_orchestrator.DaskOrchestrator({"scheduler_address": address})
        orchestrator.prepare_run(RunContext("r", Path("."), None, {"name": "dev", "components": {"artifact_store": {}}}))

        def run() -> None:
            with orchestrator.executor():
                raise AssertionError("a silent port is no scheduler")

        finished, outcome, _ = in_thread(run, timeout=30)
        assert finished, "the run hung on a port that accepts and never answers"
        assert isinstance(outcome, OperationFailed)
        assert outcome.message == f"the Dask scheduler at {address} is unreachable: no answer from {address} in 0.5s"
        assert outcome.hint == "is the stack up? `provision doctor dev` checks each component"
        finished, outcome, _ = in_thread(orchestrator.probe, timeout=30)
        assert finished and isinstance(outcome, OSError), outcome


@pytest.mark.slow
def test_a_deploy_whose_scheduler_port_is_held_by_a_silent_listener_starts_on_another(tmp_path, monkeypatch):
    with silent_port(accepting=True) as taken:
        real, calls = processes.free_port, itertools.count()
        monkeypatch.setattr(processes, "free_port", lambda host="127.0.0.1": taken if next(calls) == 0 else real(host))
        provider = dask_cluster.DaskClusterProvider()
        props = {"root": str(tmp_path / "dask"), "workers": 1, "log_dir": str(tmp_path / "logs")}
        finished, created, thread = in_thread(lambda: provider.create(props), timeout=120)
    thread.join()
    assert not isinstance(created, BaseException), created
    try:
        assert finished, "the deploy hung on a scheduler port that accepts and never answers"
        assert not created.outs["scheduler_address"].endswith(f":{taken}")
        assert dask_orchestrator.scheduler_workers(created.outs["scheduler_address"], timeout=10) == 1
    finally:
        provider.delete(created.id, created.outs)
    assert not (tmp_path / "dask").exists()
