"""Teardown run from several places at once: a stack someone else holds or destroyed is skipped, never
failed, and never destroyed twice (end to end on S3: tests/integration/test_shared_locks.py)."""

from __future__ import annotations

import pytest

from zenprovision import lifecycle
from zenprovision.errors import NotFoundError, OperationFailed, StackLockedError
from zenprovision.stacks import registry
from zenprovision.teardown import destroy_with_retries


def test_a_stack_locked_through_every_attempt_is_skipped_naming_its_holder():
    def locked(name):
        raise StackLockedError("stack 'x' is locked by bob@ci (PID 7, provision teardown) since ...")

    outcome = destroy_with_retries("x", destroy=locked, backoff=0.01)
    assert (outcome.result, outcome.attempts) == ("skipped", 3)
    assert outcome.reason.startswith("stack 'x' is locked by bob@ci")


def test_a_stack_gone_when_its_turn_comes_is_skipped_as_already_destroyed():
    calls = []

    def destroyed_meanwhile(name):
        calls.append(name)
        if len(calls) == 1:
            raise StackLockedError("stack 'x' is locked by bob@ci")
        raise NotFoundError("no stack named 'x'")

    outcome = destroy_with_retries("x", destroy=destroyed_meanwhile, backoff=0.01)
    assert (outcome.result, outcome.reason, outcome.attempts) == ("skipped", "already destroyed by another command", 2)


def test_the_skip_names_who_destroyed_the_stack_when_its_history_says(home, record_clock):
    record_clock("2026-12-02T09:10:03+00:00")
    record = registry.StackRecord(name="x", recipe="files", engine="embedded", created_at=registry.recorded_now())
    registry.begin(record, "deploy", "deploying")
    registry.finish(record, "active")
    registry.begin(record, "destroy", "destroying", by="bob@ci", command="teardown")
    registry.retire(record)

    def gone(name):
        raise NotFoundError("no stack named 'x'")

    outcome = destroy_with_retries("x", destroy=gone, backoff=0.01)
    assert outcome.reason == "already destroyed by bob@ci (teardown) at 2026-12-02 09:10:03 UTC"


def test_a_real_failure_is_still_a_failure():
    def broken(name):
        raise OperationFailed("delete of 'a' failed: access denied")

    assert destroy_with_retries("x", destroy=broken, backoff=0.01).result == "failed"


def test_destroy_checks_again_under_the_lock_that_the_stack_still_exists(home, monkeypatch):
    """Another teardown destroyed the stack between this one's look and its lock: nothing is done twice."""
    record = registry.StackRecord(name="gone", recipe="files", engine="embedded", created_at=registry.now())
    registry.begin(record, "deploy", "deploying")
    registry.finish(record, "active")
    real_lock = lifecycle.StackLock

    class LockTakenLate:
        """The lock is granted only after the other command's destroy has finished."""

        def __init__(self, stack: str) -> None:
            self.lock = real_lock(stack)

        def __enter__(self):
            other = registry.load("gone")
            registry.begin(other, "destroy", "destroying", command="teardown")
            registry.retire(other)
            return self.lock.__enter__()

        def __exit__(self, *exc):
            self.lock.__exit__(*exc)

    monkeypatch.setattr(lifecycle, "StackLock", LockTakenLate)
    with pytest.raises(NotFoundError):
        lifecycle.destroy("gone", lambda event: None)
    assert registry.load("gone") is None
    ops = [o.op for r in registry.history("gone") for o in r.operations]
    assert ops == ["deploy", "destroy"]  # one destroy, by the other command
