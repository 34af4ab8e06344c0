"""`provision stacks` says `running` only while a command holds the stack's lock: a record left by a
command killed outright reads `interrupted`."""

import pytest

from zenprovision.locks.files import FileStackLock
from zenprovision.stacks import overview, registry


@pytest.fixture
def mid_destroy(home):
    record = registry.StackRecord(name="dev", recipe="local", engine="embedded", created_at=registry.now())
    registry.begin(record, "destroy", "destroying")
    return "dev"


def test_an_operation_nobody_holds_the_lock_for_reads_interrupted(mid_destroy):
    summary = overview.summarize(mid_destroy)
    assert (summary.status, summary.last_operation, summary.last_result) == ("destroying", "destroy", "interrupted")


def test_an_operation_whose_command_holds_the_lock_reads_running(mid_destroy):
    with FileStackLock(mid_destroy):
        assert overview.summarize(mid_destroy).last_result == "running"


def test_a_finished_operation_reads_its_result(mid_destroy):
    registry.finish(registry.load(mid_destroy), "destroy-failed", error="boom")
    assert overview.summarize(mid_destroy).last_result == "failed"
