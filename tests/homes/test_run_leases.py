"""Pipeline runs against a destroy, on a shared home (S3 on a moto server): run markers with leases.

A run writes its marker and then looks for a destroy; a destroy writes its marker and then
looks for runs. Whatever the interleaving, a run never goes on while a destroy proceeds.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.servers import unique_bucket_name
from zenprovision import home
from zenprovision.errors import StackLockedError
from zenprovision.locks import DestroyLease, RunLease, active_runs
from zenprovision.locks.lease import read, utcnow
from zenprovision.locks.shared import LeaseDestroyLease, LeaseRunLease, request_abort


@pytest.fixture
def shared_home(moto_server, s3_client, tmp_path, monkeypatch):
    bucket = unique_bucket_name("runs")
    s3_client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("ZENPROVISION_HOME", f"s3://{bucket}/zp")
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "local"))
    return home.objects()


def test_the_shared_kinds_are_chosen_for_a_shared_home(shared_home):
    assert isinstance(RunLease("rt", "r1"), LeaseRunLease) and isinstance(DestroyLease("rt"), LeaseDestroyLease)


def test_a_run_cannot_start_while_a_destroy_holds_the_stack(shared_home):
    destroy = DestroyLease("rt")
    assert destroy.try_acquire()
    try:
        with pytest.raises(StackLockedError, match=r"stack 'rt' is being destroyed by \S+@\S+ \(PID"):
            RunLease("rt", "r1").acquire()
        assert shared_home.names("locks/rt.runs", ".json") == []  # the refused run left no marker
    finally:
        destroy.release()
    with RunLease("rt", "r2"):
        assert [r["run_id"] for r in active_runs("rt")] == ["r2"]
        waiting = DestroyLease("rt")
        assert not waiting.try_acquire()  # a live run: the destroy waits, holding its marker
        with pytest.raises(StackLockedError, match="being destroyed"):
            RunLease("rt", "r3").acquire()  # so no new run starts meanwhile
    assert waiting.try_acquire()  # the run let go
    waiting.release()
    assert active_runs("rt") == []


def race(stack: str) -> dict:
    """A run and a destroy of ``stack`` let go at the same instant; what each got."""
    barrier, outcome = threading.Barrier(2), {}

    def run() -> None:
        lease = RunLease(stack, "r")
        barrier.wait()
        try:
            outcome["run"] = lease.acquire()
        except StackLockedError:
            outcome["run"] = None

    def destroy() -> None:
        lease = DestroyLease(stack)
        barrier.wait()
        outcome["destroy"] = lease if lease.try_acquire() else None
        outcome["destroy_lease"] = lease

    threads = [threading.Thread(target=run), threading.Thread(target=destroy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def test_a_run_and_a_destroy_starting_together_never_both_proceed(shared_home):
    for attempt in range(12):
        outcome = race(f"race{attempt}")
        assert not (outcome["run"] and outcome["destroy"]), f"both proceeded on attempt {attempt}"
        if outcome["run"]:
            outcome["run"].release()
        outcome["destroy_lease"].release()


def test_the_marker_of_a_dead_run_is_removed(shared_home):
    run = RunLease("rt", "dead").acquire()
    run.lease.stop()  # its process died: no more renewals, no release
    blob, marker = read(shared_home, run.key)
    marker.renewed = utcnow() - timedelta(seconds=marker.lease_seconds + 1)
    shared_home.put(run.key, marker.dump(), if_match=blob.etag)
    assert active_runs("rt") == []
    assert shared_home.get(run.key) is None
    assert DestroyLease("rt").try_acquire()


def test_destroy_force_asks_a_run_on_any_machine_to_stop(shared_home):
    run = RunLease("rt", "r1").acquire()
    run.lease.stop()  # this test renews by hand instead of the heartbeat
    asked = []
    run.lease.on_lost = asked.append  # in a real run: SIGINT to itself, as Ctrl-C
    try:
        [live] = active_runs("rt")
        assert live["run_id"] == "r1" and live["started"] > 0
        assert request_abort("rt", "r1", "`provision destroy --force`")
        assert run.lease.renew() is False
        assert asked == ["`provision destroy --force` asked it to stop"]
    finally:
        run.release()
    assert active_runs("rt") == [] and not request_abort("rt", "r1", "again")


def test_destroy_waits_for_a_run_it_asked_to_stop_and_refuses_without_force(shared_home, monkeypatch):
    from zenprovision import lifecycle

    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", "3")  # the run hears the request within a second
    run = RunLease("rt", "r1").acquire()
    with pytest.raises(StackLockedError, match="in use by run r1") as refused:
        with lifecycle._runs_stopped("rt", force=False):
            pass
    assert "--force" in refused.value.hint and active_runs("rt")
    asked = []

    def stop(why: str) -> None:  # what a run does on Ctrl-C: it ends and lets go of its marker
        asked.append(why)
        run.release()

    run.lease.on_lost = stop
    with lifecycle._runs_stopped("rt", force=True):
        assert asked == ["`provision destroy --force` asked it to stop"]
        assert active_runs("rt") == []
        with pytest.raises(StackLockedError, match="being destroyed"):
            RunLease("rt", "r2").acquire()
    RunLease("rt", "r3").acquire().release()  # the destroy let go
