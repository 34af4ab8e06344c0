"""A `Secret[int]` parameter a step logs as it was given (a number, not a string) is stored
masked too: ``runs show`` must not print it (red team: strings only were masked)."""

import json

from zenprovision import log_metadata, pipeline, step
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.pipelines import Secret

PIN = 8675309


@step(cache=False)
def connect(pin: int) -> bool:
    log_metadata(pin_used=pin, tries=[pin])
    log_metadata(run=True, last_pin=pin)
    return True


@pipeline
def numbered(pin: Secret[int] = 0):
    connect(pin)


def test_a_secret_number_a_step_logs_is_stored_masked(local_stack):
    summary = numbered.run(stack=local_stack, pin=PIN)
    assert summary.status == "succeeded"
    store = MetadataStore(local_stack)
    try:
        stored = json.dumps(store.run(summary.run_id), default=str)
    finally:
        store.close()
    assert str(PIN) not in stored
