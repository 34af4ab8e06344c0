"""A `Secret[...]` parameter quoted where the run does not expect it: by the pipeline's own code while
it builds, or by a step in the metadata it logs under a harmless key. Masked there too (red team)."""

import json

import pytest

from zenprovision import log_metadata, pipeline, step
from zenprovision.errors import OperationFailed
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.pipelines import Secret

PASSWORD = "Sup3rSecretValue42"


@step
def use(token: str) -> int:
    log_metadata(note=f"used {token}", nested={"items": [f"again {token}"]}, rows=42, ratio=0.5)
    log_metadata(run=True, connected_with=f"{token} at db:5432")
    return len(token)


@pipeline
def quoting(db_pass: Secret[str] = "", fail_while_building: bool = False):
    if fail_while_building:
        raise ValueError(f"cannot connect using {db_pass or 'nothing'}")
    use(db_pass)


def test_an_error_while_building_says_what_it_said_with_the_secret_masked(local_stack):
    with pytest.raises(OperationFailed, match=r"ValueError: cannot connect using \[secret\]") as raised:
        quoting.run(stack=local_stack, db_pass=PASSWORD, fail_while_building=True)
    assert PASSWORD not in str(raised.value) and raised.value.__suppress_context__


def test_an_error_while_building_that_quotes_no_secret_keeps_its_type(local_stack):
    with pytest.raises(ValueError, match="cannot connect using nothing"):
        quoting.run(stack=local_stack, db_pass="", fail_while_building=True)


def test_metadata_a_step_logs_is_stored_masked(local_stack, home):
    summary = quoting.run(stack=local_stack, db_pass=PASSWORD)
    assert summary.status == "succeeded"
    store = MetadataStore(local_stack)
    try:
        stored = json.dumps(store.run(summary.run_id), default=str)
    finally:
        store.close()
    assert PASSWORD not in stored
    assert "used [secret]" in stored and "again [secret]" in stored
    assert '"rows": 42' in stored and '"ratio": 0.5' in stored  # numbers that are no secret are kept
    assert summary.metadata == {"connected_with": "[secret] at db:5432"}  # the run's own metadata too
