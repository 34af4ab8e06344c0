"""A destroy killed outright (kill -9) takes its run lease with it, but its record stays: a run is
refused on a stack whose record says it is being destroyed, or that a destroy did not finish."""

import pytest

from zenprovision.errors import StackLockedError
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.stacks import registry


def with_status(stack: str, status: str) -> None:
    record = registry.StackRecord(name=stack, recipe="hand-made", engine="embedded", created_at=registry.now())
    registry.begin(record, "destroy" if status.startswith("destroy") else "deploy", status)


@pytest.mark.parametrize("status", ["destroying", "destroy-failed"])
def test_a_run_is_refused_and_writes_nothing(local_stack, home, status):
    from tests.runtime.pipelines.shapes import fanout

    with_status(local_stack, status)
    with pytest.raises(StackLockedError, match=f"provision destroy {local_stack}"):
        fanout.run(stack=local_stack, seconds=0)
    assert not (home / "artifacts" / "runs").exists()
    store = MetadataStore(local_stack)
    try:
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    finally:
        store.close()


@pytest.mark.parametrize("status", ["active", "deploying", "deploy-failed"])
def test_a_run_goes_on_a_stack_that_is_not_being_destroyed(local_stack, status):
    from tests.runtime.pipelines.shapes import fanout

    with_status(local_stack, status)
    assert fanout.run(stack=local_stack, seconds=0).status == "succeeded"
