"""Teardown's choices in-process: prod and damaged stacks are never destroyed, transient
failures are retried with a doubling backoff, others fail at once (the CLI side is in
test_stack_lifecycle.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from zenprovision import teardown as stacks_teardown  # not `teardown`: pytest would call it after the module
from zenprovision.errors import ArtifactStoreError, OperationFailed, StackLockedError
from zenprovision.stacks.overview import StackSummary
from zenprovision.teardown import destroy_with_retries, is_transient


def summary(name: str, env: str = "dev", problem: str = "") -> StackSummary:
    return StackSummary(name=name, recipe="files", engine="embedded", env=env, owner="ci", age=timedelta(hours=1),
                        ttl=None, expired=False, status="active", last_operation="deploy", last_result="succeeded",
                        problem=problem)


TARGETS = [summary("a"), summary("live", env="prod"), summary("b", env="staging"),
           summary("broken", problem="stack record broken.json is damaged: field ttl")]


def test_dry_run_names_what_would_go_and_destroys_nothing():
    called = []
    outcomes = stacks_teardown.teardown(TARGETS, parallel=2, dry_run=True, destroy=called.append)
    assert called == []
    assert [(o.stack, o.result, o.reason) for o in outcomes] == [
        ("a", "would-destroy", ""), ("b", "would-destroy", ""),
        ("broken", "skipped", "stack record broken.json is damaged: field ttl"),
        ("live", "skipped", "env prod is never torn down")]


@pytest.mark.parametrize("parallel", [0, 1, 3])
def test_destroys_every_chosen_stack_and_never_prod_or_damaged(parallel):
    called = []
    outcomes = stacks_teardown.teardown(TARGETS, parallel=parallel, dry_run=False, destroy=called.append, backoff=0)
    assert sorted(called) == ["a", "b"]
    assert {(o.stack, o.result, o.attempts) for o in outcomes} == {
        ("a", "destroyed", 1), ("b", "destroyed", 1), ("broken", "skipped", 0), ("live", "skipped", 0)}


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(stacks_teardown.time, "sleep", slept.append)
    return slept


def failing(*errors: BaseException):
    """A destroy that raises the given errors in turn, then succeeds."""
    left = list(errors)

    def destroy(name: str) -> None:
        if left:
            raise left.pop(0)

    return destroy


def test_transient_failures_are_retried_with_a_doubling_backoff(sleeps):
    locked = StackLockedError("stack 'x' is locked by PID 1")
    outcome = destroy_with_retries("x", destroy=failing(locked, locked), backoff=0.5)
    assert (outcome.result, outcome.attempts, outcome.reason) == ("destroyed", 3, "")
    assert sleeps == [0.5, 1.0]


def test_the_last_attempt_reports_the_error_without_sleeping_again(sleeps):
    outcome = destroy_with_retries("x", attempts=2, destroy=failing(*[TimeoutError("timed out")] * 3), backoff=1)
    assert (outcome.result, outcome.attempts, outcome.reason) == ("failed", 2, "timed out")
    assert sleeps == [1]


def test_a_lasting_failure_is_reported_at_once(sleeps):
    outcome = destroy_with_retries("x", destroy=failing(OperationFailed("delete of 'a' failed: access denied")))
    assert (outcome.result, outcome.attempts) == ("failed", 1) and "access denied" in outcome.reason
    assert sleeps == []
    unexpected = destroy_with_retries("x", destroy=failing(KeyError("state")))
    assert (unexpected.result, unexpected.attempts, unexpected.reason) == ("failed", 1, "'state'")


@pytest.mark.parametrize("error", [
    StackLockedError("locked"), ArtifactStoreError("bucket busy"), ConnectionError("refused"), TimeoutError(),
    OperationFailed("Request Timeout"), OperationFailed("request timed out"), RuntimeError("Throttling: slow down"),
    RuntimeError("Rate exceeded"), RuntimeError("a temporary failure"), RuntimeError("please try again"),
    RuntimeError("Connection reset by peer"),
])
def test_transient(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", [OperationFailed("access denied"), ValueError("bad"), RuntimeError("")])
def test_not_transient(error):
    assert not is_transient(error)


def test_defaults_are_three_attempts_one_second_apart_then_doubling(sleeps):
    outcome = destroy_with_retries("x", destroy=failing(*[ConnectionError("reset")] * 5))
    assert (outcome.stack, outcome.result, outcome.attempts, outcome.reason) == ("x", "failed", 3, "reset")
    assert sleeps == [1.0, 2.0]


def test_without_a_destroy_it_destroys_the_stack_through_the_lifecycle_quietly(sleeps, monkeypatch):
    calls = []
    monkeypatch.setattr(stacks_teardown.lifecycle, "destroy", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert destroy_with_retries("x").result == "destroyed"
    assert calls == [(("x", stacks_teardown._quiet), {"command": "teardown"})]  # recorded as teardown's in history


def test_teardown_retries_a_transient_failure_with_its_backoff(sleeps):
    destroy = failing(StackLockedError("locked"))
    outcomes = stacks_teardown.teardown([summary("a")], parallel=1, dry_run=False, destroy=destroy)
    assert [(o.stack, o.result, o.attempts) for o in outcomes] == [("a", "destroyed", 2)]
    assert sleeps == [1.0]
    stacks_teardown.teardown([summary("b")], parallel=1, dry_run=False, backoff=0.25,
                             destroy=failing(StackLockedError("locked")))
    assert sleeps == [1.0, 0.25]  # its own backoff reaches every retry


@pytest.mark.parametrize("parallel, peak", [(0, 1), (1, 1), (2, 2)])
def test_parallel_bounds_how_many_stacks_are_destroyed_at_once(parallel, peak):
    """Each destroy waits (briefly) for company: only a second worker can give it."""
    lock, together = threading.Lock(), threading.Event()
    state = {"active": 0, "peak": 0}

    def destroy(name: str) -> None:
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
            if state["active"] == 2:
                together.set()
        together.wait(0.2 if peak == 1 else 30)
        with lock:
            state["active"] -= 1

    outcomes = stacks_teardown.teardown([summary("a"), summary("b")], parallel=parallel, dry_run=False,
                                        destroy=destroy)
    assert {o.result for o in outcomes} == {"destroyed"}
    assert state["peak"] == peak
