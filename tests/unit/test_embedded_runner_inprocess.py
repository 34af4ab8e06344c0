"""The engine worker's jobs in this process: what the worker does between reading a job and
writing its result. mutmut cannot see code that runs only in the worker process, so the
jobs run here, with the Pulumi program replaced by registrations made directly."""

from __future__ import annotations

import gc
import io
import os
import socket
from types import SimpleNamespace

import pytest

from zenprovision.engines.embedded import runner
from zenprovision.engines.embedded import state as state_store
from zenprovision.engines.embedded.ops import Interrupt
from zenprovision.engines.embedded.state import StackState
from zenprovision.errors import CorruptFileError, InputError

from .test_embedded_engine_mutants import CALLS, Provider, registration, resource, secret


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(Interrupt, "requested", False)
    yield
    gc.enable()  # the plan job turns the collector off: its process ends right after


class Events(list):
    broken = False

    def __call__(self, event):
        self.append(event)


def program(*registrations, exports=None, fail=None):
    """A stand-in for runner._run: registers resources with the job's handler, as the SDK would."""
    seen = {}

    def run(job, handler, preview):
        seen.update(job=job, preview=preview)
        for reg in registrations:
            handler.register(reg)
        if fail:
            raise fail
        return exports or {}

    run.seen = seen
    return run


JOB = {"stack": "s", "project": "p", "recipe": "files", "recipe_path": "/recipes/files", "config": {"dir": "/d"},
       "labels": {"env": "dev"}}


def test_up_records_the_recipe_applies_the_program_and_saves_its_outputs(home, monkeypatch):
    state_store.save(StackState("s", resources=[resource("old")]))
    run = program(registration("a"), exports={"url": "http://a"})
    monkeypatch.setattr(runner, "_run", run)
    result = runner._up(JOB, Events())
    assert (result["counts"], result["outputs"]) == ({"create": 1, "delete": 1}, {"url": "http://a"})
    assert result["seconds"] >= 0 and run.seen["preview"] is False
    saved = state_store.load("s")
    assert (saved.recipe, saved.recipe_path, saved.config, saved.outputs) == \
        ("files", "/recipes/files", {"dir": "/d"}, {"url": "http://a"})
    assert [r.name for r in saved.resources] == ["a"]


def test_a_program_that_fails_midway_keeps_what_it_made_and_deletes_nothing(home, monkeypatch):
    state_store.save(StackState("s", resources=[resource("old")], outputs={"url": "before"}))
    monkeypatch.setattr(runner, "_run", program(registration("a"), fail=RuntimeError("the program broke")))
    with pytest.raises(RuntimeError, match="the program broke"):
        runner._up(JOB, Events())
    saved = state_store.load("s")
    assert [r.name for r in saved.resources] == ["old", "a"] and saved.outputs == {"url": "before"}
    assert saved.recipe == "files"


def test_plan_predicts_redacts_and_runs_the_policy_pack_without_writing(home, monkeypatch):
    state_store.save(StackState("s", resources=[resource("gone")]))
    run = program(registration("a", key=secret("k")),
                  *[registration(f"r{i}", type_=f"aws:x/t{i}:T{i}") for i in (3, 1, 2, 4, 1)],
                  exports={"token": secret("t"), "n": 1})
    monkeypatch.setattr(runner, "_run", run)
    result = runner._plan(JOB, Events())
    assert run.seen["preview"] is True
    assert [(c["name"], c["op"]) for c in result["changes"]][:1] == [("a", "create")]
    assert result["changes"][0]["inputs"] == {"name": "a", "key": "[secret]"}
    assert (result["changes"][-1]["name"], result["changes"][-1]["op"]) == ("gone", "delete")
    assert result["outputs"] == {"token": "[secret]", "n": 1}
    assert result["applyable"] is False
    assert result["reason"] == "resources of types aws:x/t1:T1, aws:x/t2:T2, aws:x/t3:T3 need the Pulumi CLI"
    assert isinstance(result["policy"], list)
    assert [r.name for r in state_store.load("s").resources] == ["gone"] and CALLS[0][0] == "check"


def test_a_plan_of_dynamic_resources_only_can_be_applied(home, monkeypatch):
    monkeypatch.setattr(runner, "_run", program(registration("a")))
    result = runner._plan(JOB, Events())
    assert (result["applyable"], result["reason"]) == (True, "")


def test_plan_judges_the_policy_with_the_stack_labels_and_config(home, monkeypatch):
    seen = {}

    def findings(registered, labels, config):
        seen.update(names=[r.name for r in registered], labels=labels, config=config)
        return [{"rule": "r"}]

    monkeypatch.setattr("zenprovision.engines.embedded.policy_check.findings", findings)
    monkeypatch.setattr(runner, "_run", program(registration("a")))
    assert runner._plan({**JOB, "labels": None}, Events())["policy"] == [{"rule": "r"}]
    assert seen == {"names": ["a"], "labels": {}, "config": {"dir": "/d"}}


def test_destroy_deletes_everything_and_forgets_the_state(home):
    state_store.save(StackState("s", resources=[resource("net"), resource("app", depends_on=["net"])]))
    result = runner._destroy({"stack": "s"}, Events())
    assert result["counts"] == {"delete": 2} and result["outputs"] == {} and result["seconds"] >= 0
    assert not state_store.exists("s")


def test_destroy_of_a_stack_whose_state_is_already_empty_removes_the_file(home):
    state_store.save(StackState("s"))
    assert runner._destroy({"stack": "s"}, Events())["counts"] == {"delete": 0}
    assert not state_store.exists("s")


def test_refresh_reports_what_it_checked(home):
    state_store.save(StackState("s", resources=[resource("a", Provider(read=SimpleNamespace(id=None))),
                                                resource("b", Provider(read=SimpleNamespace(id="b-id", outs=None)))]))
    assert runner._refresh({"stack": "s"}, Events()) == {"missing": ["a"], "changed": [], "checked": 2}


# --- the worker's protocol: events, errors, the lock ------------------------------------------


def test_events_are_json_lines_and_a_closed_reader_stops_them_quietly():
    stream = io.StringIO()
    channel = runner.EventChannel(stream)
    channel({"kind": "diagnostic", "path": os.path})
    assert stream.getvalue().endswith("\n") and '"kind": "diagnostic"' in stream.getvalue()
    assert str(os.path) in stream.getvalue()  # what JSON cannot hold is sent as text

    class Closed(io.StringIO):
        writes = 0

        def write(self, text):
            self.writes += 1
            raise BrokenPipeError

    closed = Closed()
    channel = runner.EventChannel(closed)
    channel({"kind": "a"})
    channel({"kind": "b"})
    assert channel.broken and closed.writes == 1


def test_a_job_that_succeeds_ends_with_its_result(monkeypatch):
    monkeypatch.setitem(runner.MODES, "plan", lambda job, events: {"ok": job["stack"]})
    events = Events()
    assert runner._work({"mode": "plan", "stack": "s"}, events, []) == 0
    assert events == [{"kind": "result", "result": {"ok": "s"}}]


@pytest.mark.parametrize("raised, expected", [
    (CorruptFileError("state is damaged", hint="restore it"),
     {"kind": "error", "error": "CorruptFileError", "message": "state is damaged", "hint": "restore it"}),
    (InputError("bad input"), {"kind": "error", "error": "InputError", "message": "bad input", "hint": None}),
    (ValueError("boom"), {"kind": "error", "error": "OperationFailed", "message": "ValueError: boom", "hint": None}),
    (ImportError("no module", name="pulumi_aws"),
     {"kind": "error", "error": "MissingExtraError",
      "message": "recipe 'files' needs the 'aws' extra, which is not installed (missing: pulumi_aws)"}),
    (ImportError("cannot import name x", name="somewhere"),
     {"kind": "error", "error": "OperationFailed", "message": "ImportError: cannot import name x", "hint": None}),
])
def test_a_job_that_fails_ends_with_one_error_the_command_can_raise(monkeypatch, raised, expected):
    def fail(job, events):
        raise raised

    monkeypatch.setitem(runner.MODES, "up", fail)
    events = Events()
    assert runner._work({"mode": "up", "stack": "s", "recipe": "files"}, events, []) == 1
    (event,) = events
    assert {k: event[k] for k in expected} == expected
    if expected["error"] == "MissingExtraError":
        assert "pip install" in event["hint"] or "zenprovision[aws]" in event["hint"]


def test_an_import_error_names_the_stack_when_the_job_has_no_recipe(monkeypatch):
    def fail(job, events):
        raise ImportError("no module", name="pulumi_gcp")

    monkeypatch.setitem(runner.MODES, "destroy", fail)
    events = Events()
    runner._work({"mode": "destroy", "stack": "s"}, events, [])
    assert events[0]["message"].startswith("recipe 's' needs the 'gcp' extra")


def test_a_signal_asks_the_operations_to_stop_before_the_next_step():
    runner._on_signal(2, None)
    assert Interrupt.requested is True


def test_the_worker_names_itself_in_the_lock_file_it_inherited(tmp_path):
    path = tmp_path / "lock"
    path.write_text("12345 (the command that took the lock, a longer line)")
    fd = os.open(path, os.O_RDWR)
    try:
        runner._claim_lock(fd)
    finally:
        os.close(fd)
    assert path.read_text() == f"{os.getpid()} (zenprovision engine worker)"
    runner._claim_lock(None)
    runner._claim_lock(fd)  # closed: nothing to write to, nothing raised


def test_the_lock_descriptor_comes_over_the_channel_or_not_at_all(tmp_path):
    assert runner._receive_lock(None, 7) == 7 and runner._receive_lock("", None) is None
    path = tmp_path / "lock"
    path.write_text("")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with open(path) as lock:
        socket.send_fds(ours, [b"L"], [lock.fileno()])
        received = runner._receive_lock(str(theirs.detach()), None)
    try:
        assert os.path.samestat(os.fstat(received), os.stat(path))
    finally:
        os.close(received)
        ours.close()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    socket.send_fds(ours, [b"-"], [])
    assert runner._receive_lock(str(theirs.detach()), None) is None
    ours.close()


def test_warming_up_imports_what_an_apply_needs_and_leaves_the_collector_on():
    runner._warm_up()
    assert gc.isenabled()
    import sys

    assert "zenprovision.engines.embedded.ops" in sys.modules and "pulumi.dynamic" in sys.modules


def test_a_worker_without_a_lease_lets_nothing_go():
    runner._let_go(None, {}, Events())  # nothing to hand back: no shared home


def test_a_dead_command_s_lease_is_released_and_a_live_one_handed_back(monkeypatch):
    released = []
    monkeypatch.setattr("zenprovision.locks.shared.let_go", lambda lease, release: released.append((lease, release)))
    alive = Events()
    runner._let_go("lease", {"parent_pid": os.getppid()}, alive)
    runner._let_go("lease", {"parent_pid": -1}, alive)
    alive.broken = True
    runner._let_go("lease", {"parent_pid": os.getppid()}, alive)
    assert released == [("lease", False), ("lease", True), ("lease", True)]


class Clock:
    def __init__(self):
        self.now = 10.0

    def monotonic(self):
        self.now += 4.0
        return self.now


def test_a_job_s_seconds_are_its_duration(home, monkeypatch):
    monkeypatch.setattr(runner, "time", Clock())
    monkeypatch.setattr(runner, "_run", program())
    assert runner._up(JOB, Events())["seconds"] == 4.0
    assert runner._destroy({"stack": "s"}, Events())["seconds"] == 4.0


def test_the_program_runs_with_the_job_it_was_given(home, monkeypatch):
    for job_mode in (runner._up, runner._plan):
        run = program()
        monkeypatch.setattr(runner, "_run", run)
        job_mode(JOB, Events())
        assert run.seen["job"] is JOB


def test_the_plan_s_policy_sees_the_stack_labels(home, monkeypatch):
    seen = {}
    monkeypatch.setattr("zenprovision.engines.embedded.policy_check.findings",
                        lambda registered, labels, config: seen.update(labels=labels) or [])
    monkeypatch.setattr(runner, "_run", program())
    runner._plan(JOB, Events())
    assert seen == {"labels": {"env": "dev"}}


def test_the_recipe_program_runs_under_the_lazy_sdk_with_the_job_s_settings(monkeypatch):
    from zenprovision.engines.embedded import lazy_sdk, monitor

    seen = {}
    monkeypatch.setattr(lazy_sdk, "install", lambda: seen.setdefault("installed", True))
    monkeypatch.setattr(monitor, "run_program", lambda *args, **kwargs: seen.update(args=args, kwargs=kwargs) or {"o": 1})
    handler = object()
    assert runner._run({**JOB, "labels": None}, handler, preview=True) == {"o": 1}
    assert seen["installed"] is True
    from pathlib import Path

    assert seen["args"] == (Path("/recipes/files"), "p", "s", {"dir": "/d"}, handler, True)
    assert seen["kwargs"] == {"labels": {}}
    runner._run(JOB, handler, preview=False)
    assert seen["args"][-1] is False and seen["kwargs"] == {"labels": {"env": "dev"}}


def test_a_job_in_a_shared_home_adopts_the_lease_and_its_events_reach_the_command(monkeypatch):
    adopted = []
    monkeypatch.setattr(runner, "_adopt_lease", lambda job: adopted.append(job) or "lease")

    def mode(job, events):
        events({"kind": "diagnostic", "message": "working"})
        return {}

    monkeypatch.setitem(runner.MODES, "refresh", mode)
    events, leases = Events(), []
    job = {"mode": "refresh", "stack": "s", "lease": {"stack": "s", "holder": "h"}}
    assert runner._work(job, events, leases) == 0
    assert adopted == [job] and leases == ["lease"]
    assert events[0] == {"kind": "diagnostic", "message": "working"}
    assert runner._work({"mode": "refresh", "stack": "s", "lease": None}, Events(), leases) == 0
    assert len(adopted) == 1


def test_an_adopted_lease_fences_every_state_write_and_its_loss_stops_the_job(home, monkeypatch):
    from zenprovision.errors import LockLostError
    from zenprovision.locks import shared

    lease = SimpleNamespace(on_lost=None)
    monkeypatch.setattr(shared, "adopt", lambda stack, holder: (stack, holder) == ("s", "h") and lease)
    fenced = []

    def fence(stack):
        fenced.append(stack)
        if stack == "lost":
            raise LockLostError("the lease of stack 'lost' was taken")

    monkeypatch.setattr("zenprovision.locks.fence", fence)
    monkeypatch.setattr(state_store, "save", state_store.save)  # restored after the test
    monkeypatch.setattr(state_store, "remove", state_store.remove)
    assert runner._adopt_lease({"lease": {"stack": "s", "holder": "h"}}) is lease
    state_store.save(StackState("s"))
    assert state_store.exists("s") and fenced == ["s"]
    state_store.remove("s")
    assert not state_store.exists("s") and fenced == ["s", "s"]
    with pytest.raises(LockLostError):
        state_store.save(StackState("lost"))
    with pytest.raises(LockLostError):
        state_store.remove("lost")
    assert not state_store.exists("lost")
    lease.on_lost("taken")
    assert Interrupt.requested is True
