"""The embedded engine's command side in-process: the job it sends, the events it forwards,
how it ends on a worker's result, error, crash or Ctrl-C. The worker is a stand-in that
answers with the JSON lines a real worker writes (tests/unit/test_engine_worker.py runs real ones)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from zenprovision import errors
from zenprovision.engines.base import DeployRequest, EngineEvent, ResourceChange
from zenprovision.engines.embedded import engine as embedded
from zenprovision.engines.embedded import state as state_store
from zenprovision.engines.embedded.engine import EmbeddedEngine, Worker
from zenprovision.engines.embedded.state import StackState

from .test_embedded_engine_mutants import resource


class Lines:
    """A worker's stdout; ``interrupt_at`` raises KeyboardInterrupt before those lines, as Ctrl-C would."""

    def __init__(self, events, interrupt_at=()):
        self.lines = [json.dumps(e).encode() + b"\n" for e in events]
        self.interrupt_at = set(interrupt_at)
        self.index = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.index in self.interrupt_at:
            self.interrupt_at.discard(self.index)
            raise KeyboardInterrupt
        if self.index >= len(self.lines):
            raise StopIteration
        self.index += 1
        return self.lines[self.index - 1]


class FakeProc:
    def __init__(self, events, returncode=0, interrupt_at=()):
        self.stdout = Lines(events, interrupt_at)
        self.returncode = returncode
        self.signals, self.killed, self.waited = [], 0, 0

    def wait(self):
        self.waited += 1
        return self.returncode

    def poll(self):
        return None

    def send_signal(self, sig):
        self.signals.append(sig)

    def kill(self):
        self.killed += 1


class FakeWorker:
    def __init__(self, events, returncode=0, interrupt_at=(), send_fails=False):
        self.proc = FakeProc(events, returncode, interrupt_at)
        self.log_path = Path("/logs/s.log")
        self.sent, self.discarded, self.send_fails, self.is_usable = [], 0, send_fails, True

    def send(self, job, lock):
        if self.send_fails:
            raise BrokenPipeError
        self.sent.append((job, lock))
        self.lock_fd = lock.fd if lock else None  # released once the command is done
        self.locked_stack = lock.stack if lock else None

    def discard(self):
        self.discarded += 1

    def usable(self):
        return self.is_usable


@pytest.fixture
def workers(monkeypatch):
    """Workers the engine starts, in order; each answers with the next queued list of events."""
    queued, started = [], []

    def start(cls, stack, warm=False):
        worker = queued.pop(0)
        worker.stack, worker.warm = stack, warm
        started.append(worker)
        return worker

    monkeypatch.setattr(Worker, "start", classmethod(start))
    return SimpleNamespace(queue=queued.append, started=started)


def result(value):
    return {"kind": "result", "result": value}


REQUEST = DeployRequest(SimpleNamespace(name="files", path=Path("/recipes/files")), "s", {"dir": "/d"}, {"env": "dev"})
CHANGE = ResourceChange("urn:a", "t", "a", "create", inputs={"x": 1})


def test_plan_sends_the_recipe_and_config_and_reads_back_the_plan(home, workers):
    workers.queue(FakeWorker([result({"changes": [CHANGE.to_dict()], "outputs": {"o": 1}, "applyable": False,
                                      "reason": "needs the CLI", "policy": [{"rule": "r"}]})]))
    plan = EmbeddedEngine().plan(REQUEST)
    assert (plan.changes, plan.outputs, plan.applyable, plan.reason, plan.policy) == \
        ([CHANGE], {"o": 1}, False, "needs the CLI", [{"rule": "r"}])
    (job, lock), = workers.started[0].sent
    assert job == {"mode": "plan", "stack": "s", "project": "files", "recipe": "files",
                   "recipe_path": "/recipes/files", "config": {"dir": "/d"}, "labels": {"env": "dev"}}
    assert lock is None and workers.started[0].stack == "s"


def test_up_holds_the_stack_lock_forwards_progress_and_returns_the_counts(home, workers):
    events = [{"kind": "resource-pre", "op": "create", "urn": "urn:a", "type": "t", "name": "a", "extra": 1},
              {"kind": "resource-done", "op": "create", "urn": "urn:a", "type": "t", "name": "a", "seconds": 1.5},
              result({"counts": {"create": 1}, "outputs": {"url": "u"}, "seconds": 2.0})]
    workers.queue(FakeWorker(events))
    seen = []
    up = EmbeddedEngine().up(REQUEST, seen.append)
    assert (up.counts, up.outputs, up.seconds) == ({"create": 1}, {"url": "u"}, 2.0)
    assert seen == [EngineEvent("resource-pre", "create", "urn:a", "t", "a"),
                    EngineEvent("resource-done", "create", "urn:a", "t", "a", seconds=1.5)]
    (job, lock), = workers.started[0].sent
    assert job["mode"] == "up" and lock is not None and workers.started[0].lock_fd is not None
    assert workers.started[0].locked_stack == "s" and workers.started[0].stack == "s"


def test_up_runs_in_the_prepared_worker_when_it_is_still_usable(home, workers):
    spare = FakeWorker([result({"counts": {}, "outputs": {}, "seconds": 0})])
    workers.queue(spare)
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    engine.prepare_up("s")  # one spare, however often it is asked
    assert workers.started == [spare] and spare.warm is True and spare.stack == "s"
    engine.up(REQUEST, lambda e: None)
    assert spare.sent and not spare.discarded and engine._spare is None


def test_an_unusable_spare_is_discarded_for_a_fresh_worker(home, workers):
    spare, fresh = FakeWorker([]), FakeWorker([result({"counts": {}, "outputs": {}, "seconds": 0})])
    workers.queue(spare)
    workers.queue(fresh)
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    spare.is_usable = False
    engine.up(REQUEST, lambda e: None)
    assert spare.discarded == 1 and not spare.sent and fresh.sent and fresh.warm is False
    assert (spare.stack, fresh.stack) == ("s", "s")  # each writes the stack's own log


def test_a_spare_that_died_before_its_job_is_replaced(home, workers):
    dead, fresh = FakeWorker([], send_fails=True), FakeWorker([result({"counts": {}, "outputs": {}, "seconds": 0})])
    workers.queue(dead)
    workers.queue(fresh)
    EmbeddedEngine().up(REQUEST, lambda e: None)
    assert dead.discarded == 1 and fresh.sent[0][0]["mode"] == "up" and fresh.sent[0][1] is not None
    assert fresh.stack == "s"


def test_close_lets_go_of_an_unused_spare(home, workers):
    spare = FakeWorker([])
    workers.queue(spare)
    engine = EmbeddedEngine()
    engine.close()
    engine.prepare_up("s")
    engine.close()
    engine.close()
    assert spare.discarded == 1


def test_a_plan_never_uses_the_spare_prepared_for_the_apply(home, workers):
    spare, planner = FakeWorker([]), FakeWorker([result({"changes": [], "outputs": {}, "applyable": True,
                                                         "reason": "", "policy": []})])
    workers.queue(spare)
    workers.queue(planner)
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    engine.plan(REQUEST)
    assert planner.sent and not spare.sent and engine._spare is spare


def test_destroy_and_refresh_send_the_stack_and_read_back_their_results(home, workers):
    workers.queue(FakeWorker([result({"counts": {"delete": 2}, "outputs": {}, "seconds": 1.0})]))
    workers.queue(FakeWorker([result({"missing": ["a"], "changed": ["b"], "checked": 3})]))
    engine = EmbeddedEngine()
    destroyed = engine.destroy("s", lambda e: None)
    assert (destroyed.counts, destroyed.outputs, destroyed.seconds) == ({"delete": 2}, {}, 1.0)
    drift = engine.refresh("s", lambda e: None)
    assert (drift.missing, drift.changed, drift.checked) == (["a"], ["b"], 3)
    assert [w.sent[0][0] for w in workers.started] == [{"mode": "destroy", "stack": "s"}, {"mode": "refresh", "stack": "s"}]
    assert all(w.sent[0][1] is not None and w.locked_stack == "s" for w in workers.started)


def test_a_worker_error_is_raised_as_its_own_class_with_its_hint(home, workers):
    workers.queue(FakeWorker([{"kind": "error", "error": "CorruptFileError", "message": "damaged", "hint": "restore"}]))
    with pytest.raises(errors.CorruptFileError) as raised:
        EmbeddedEngine().destroy("s", lambda e: None)
    assert (raised.value.message, raised.value.hint) == ("damaged", "restore")


def test_a_worker_error_without_a_hint_points_at_the_log(home, workers):
    workers.queue(FakeWorker([{"kind": "error", "error": "NoSuchError", "message": "odd", "hint": None}]))
    with pytest.raises(errors.OperationFailed) as raised:
        EmbeddedEngine().destroy("s", lambda e: None)
    assert type(raised.value) is errors.OperationFailed
    assert (raised.value.message, raised.value.hint) == ("odd", "details in /logs/s.log")


def test_a_worker_that_dies_without_a_word_is_an_error_naming_its_exit_code_and_log(home, workers):
    workers.queue(FakeWorker([{"kind": "diagnostic", "message": "x"}], returncode=-9))
    with pytest.raises(errors.OperationFailed) as raised:
        EmbeddedEngine().destroy("s", lambda e: None)
    assert raised.value.message == "the engine process for stack 's' exited with code -9"
    assert raised.value.hint == "see the log /logs/s.log"


def test_ctrl_c_lets_the_worker_finish_its_step_then_cancels(home, workers):
    events = [{"kind": "resource-pre", "op": "create", "urn": "urn:a", "type": "t", "name": "a"},
              {"kind": "resource-done", "op": "create", "urn": "urn:a", "type": "t", "name": "a"},
              result({"counts": {"create": 1}, "outputs": {}, "seconds": 1})]
    worker = FakeWorker(events, interrupt_at=[1])
    workers.queue(worker)
    seen = []
    with pytest.raises(errors.CancelledError) as raised:
        EmbeddedEngine().up(REQUEST, seen.append)
    assert raised.value.message == "interrupted; what finished is saved in state"
    assert raised.value.hint == "run the same command again to converge"
    assert worker.proc.signals == [signal.SIGINT] and worker.proc.killed == 0 and worker.proc.waited
    assert [e.kind for e in seen] == ["resource-pre"]  # nothing is shown after Ctrl-C
    assert worker.proc.stdout.index == 3  # the worker was read to its end: it saved its state


def test_ctrl_c_then_a_worker_error_raises_the_error(home, workers):
    workers.queue(FakeWorker([{"kind": "error", "error": "OperationFailed", "message": "delete failed", "hint": "h"}],
                             interrupt_at=[0]))
    with pytest.raises(errors.OperationFailed, match="delete failed") as raised:
        EmbeddedEngine().destroy("s", lambda e: None)
    assert type(raised.value) is errors.OperationFailed


def test_a_second_ctrl_c_kills_the_worker(home, workers):
    worker = FakeWorker([{"kind": "diagnostic", "message": "x"}], interrupt_at=[0, 1], returncode=-9)
    workers.queue(worker)
    with pytest.raises(errors.CancelledError):
        EmbeddedEngine().destroy("s", lambda e: None)
    assert worker.proc.signals == [signal.SIGINT, signal.SIGINT] and worker.proc.killed == 1


def test_a_failing_progress_handler_stops_the_worker_and_waits_for_it(home, workers):
    worker = FakeWorker([{"kind": "diagnostic", "message": "x"}, result({"counts": {}, "outputs": {}, "seconds": 0})])
    workers.queue(worker)

    def broken(event):
        raise ValueError("handler bug")

    with pytest.raises(ValueError, match="handler bug"):
        EmbeddedEngine().destroy("s", broken)
    assert worker.proc.signals == [signal.SIGINT] and worker.proc.waited == 1


def test_waiting_quietly_kills_the_worker_on_ctrl_c_and_still_reaps_it():
    class Stubborn(FakeProc):
        def wait(self):
            self.waited += 1
            if self.waited == 1:
                raise KeyboardInterrupt
            return 0

    proc = Stubborn([])
    embedded._wait_quietly(proc)
    assert (proc.killed, proc.waited) == (1, 2)


def test_outputs_and_has_state_read_the_state_file(home):
    assert EmbeddedEngine().has_state("s") is False
    state_store.save(StackState("s", outputs={"url": "u"}))
    assert EmbeddedEngine().outputs("s") == {"url": "u"} and EmbeddedEngine().has_state("s") is False
    state_store.save(StackState("s", resources=[resource("a")]))
    assert EmbeddedEngine().has_state("s") is True
    pending = StackState("s")
    pending.begin("create", "urn:b")
    state_store.save(pending)
    assert EmbeddedEngine().has_state("s") is True


def test_a_real_worker_receives_the_stack_lock_with_its_job_and_names_itself_in_it(home):
    """Worker.send over a real socket: the lock file then names the worker, which holds the lock until it exits."""
    import os

    from zenprovision import home as zp_home

    drift = EmbeddedEngine().refresh("s", lambda e: None)
    assert (drift.missing, drift.changed, drift.checked) == ([], [], 0)
    holder = (zp_home.locks_dir() / "s.lock").read_text()
    assert holder.endswith(" (zenprovision engine worker)") and holder.split()[0] != str(os.getpid())


def test_refresh_forwards_what_the_worker_found_and_a_plan_ignores_progress(home, workers):
    gone = {"kind": "diagnostic", "message": "a (t) no longer exists"}
    workers.queue(FakeWorker([gone, result({"missing": ["a"], "changed": [], "checked": 1})]))
    workers.queue(FakeWorker([gone, result({"changes": [], "outputs": {}, "applyable": True, "reason": "",
                                            "policy": []})]))
    seen = []
    EmbeddedEngine().refresh("s", seen.append)
    assert seen == [EngineEvent("diagnostic", message="a (t) no longer exists")]
    assert EmbeddedEngine().plan(REQUEST).changes == []


def test_a_worker_s_error_reaches_the_command_and_its_traceback_a_private_log(home):
    import stat

    from zenprovision import home as zp_home

    state_store.state_path("s").parent.mkdir(parents=True, exist_ok=True)
    state_store.state_path("s").write_text("{damaged")
    with pytest.raises(errors.CorruptFileError) as raised:
        EmbeddedEngine().destroy("s", lambda e: None)
    log = zp_home.logs_dir() / "s.log"
    assert raised.value.message.startswith("engine state ") and "damaged" in raised.value.message
    assert "Traceback" in log.read_text() and "CorruptFileError" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_an_unexpected_worker_failure_points_at_the_stack_s_log(home):
    from zenprovision import home as zp_home

    state_store.state_path("s").parent.mkdir(parents=True, exist_ok=True)
    broken = {**resource("a").__dict__, "provider": "bm90IGEgcGlja2xl"}  # not a pickle; no hashes in a v1 state
    state_store.state_path("s").write_text(json.dumps({"stack": "s", "version": 1, "resources": [broken]}))
    with pytest.raises(errors.OperationFailed) as raised:
        EmbeddedEngine().refresh("s", lambda e: None)
    assert raised.value.hint == f"details in {zp_home.logs_dir() / 's.log'}"


class Stdin:
    def __init__(self):
        self.data, self.closed = b"", False

    def write(self, data):
        self.data += data

    def close(self):
        self.closed = True


def sent_over(lock) -> tuple[bytes, list[int], dict]:
    """What Worker.send hands a worker: the channel's marker and descriptors, and the job on stdin."""
    import socket

    ours, theirs = socket.socketpair()
    proc = SimpleNamespace(stdin=Stdin())
    Worker(proc, ours, Path("/logs/s.log")).send({"mode": "up", "stack": "s", "recipe_path": Path("/r")}, lock)
    with theirs:
        marker, fds, _, _ = socket.recv_fds(theirs, 10, 4)
    assert proc.stdin.closed and ours.fileno() == -1  # the worker sees the end of its job and of the channel
    return marker, fds, json.loads(proc.stdin.data)


def test_a_job_without_a_lock_sends_no_descriptor(home):
    import os

    marker, fds, job = sent_over(None)
    assert (marker, fds) == (b"-", [])
    assert job == {"mode": "up", "stack": "s", "recipe_path": "/r", "lock_fd": None, "lease": None,
                   "parent_pid": os.getpid()}


def test_a_locked_job_sends_the_lock_s_descriptor_and_a_shared_home_s_lease(home):
    import os

    lease = {"stack": "s", "holder": "h"}
    with open(home.parent / "lockfile", "w") as held:
        lock = SimpleNamespace(fd=held.fileno(), handoff=lambda: lease)
        marker, fds, job = sent_over(lock)
    try:
        assert marker == b"L" and len(fds) == 1
        assert os.path.samestat(os.fstat(fds[0]), os.stat(home.parent / "lockfile"))
    finally:
        for fd in fds:
            os.close(fd)
    assert job["lease"] == lease and job["parent_pid"] == os.getpid() and job["lock_fd"] is None
    marker, fds, job = sent_over(SimpleNamespace(fd=None, handoff=lambda: lease))  # a lease, no flock
    assert (marker, fds, job["lease"]) == (b"-", [], lease)


def test_destroy_runs_in_the_worker_prepared_for_it(home, workers):
    spare = FakeWorker([result({"counts": {"delete": 1}, "outputs": {}, "seconds": 0.1})])
    workers.queue(spare)
    engine = EmbeddedEngine()
    engine.prepare_destroy("s")
    assert workers.started == [spare] and spare.warm is True and spare.stack == "s"
    assert engine.destroy("s", lambda e: None).counts == {"delete": 1}
    (job, lock), = spare.sent
    assert job == {"mode": "destroy", "stack": "s"} and lock is not None and spare.locked_stack == "s"
    assert not spare.discarded and engine._spare is None


def test_a_worker_prepared_for_another_stack_is_not_used(home, workers):
    spare, fresh = FakeWorker([]), FakeWorker([result({"counts": {}, "outputs": {}, "seconds": 0})])
    workers.queue(spare)
    workers.queue(fresh)
    engine = EmbeddedEngine()
    engine.prepare_destroy("other")
    engine.destroy("s", lambda e: None)
    assert spare.discarded == 1 and not spare.sent and fresh.sent and fresh.stack == "s"


def test_refresh_never_uses_a_prepared_worker(home, workers):
    spare, fresh = FakeWorker([]), FakeWorker([result({"missing": [], "changed": [], "checked": 0})])
    workers.queue(spare)
    workers.queue(fresh)
    engine = EmbeddedEngine()
    engine.prepare_destroy("s")
    engine.refresh("s", lambda e: None)
    assert fresh.sent and not spare.sent and engine._spare is spare
    engine.close()
    assert spare.discarded == 1
