"""A step's input is checked against the sha256 its step returned, not against what meta.json says later."""

import hashlib
import json

import pytest

from zenprovision import get_step_context, pipeline, step
from zenprovision.runtime.runner import RunFailed


@step
def produce() -> int:
    return 1


@step
def rewrite_upstream(value: int) -> int:
    """Replaces produce's data and rewrites its meta.json to match, as a tamperer with write access would."""
    context = get_step_context()
    store, folder = context.artifact_store, f"runs/{context.run_id}"
    meta = json.loads(store.read_bytes(f"{folder}/.produce.meta.json"))
    data = json.dumps(666).encode()
    store.write_bytes(f"{folder}/{meta['file']}", data)
    meta.update(hash=hashlib.sha256(data).hexdigest(), size=len(data))
    store.write_bytes(f"{folder}/.produce.meta.json", json.dumps(meta).encode())
    return value


@step
def consume(value: int, after: int) -> int:
    return value


@pipeline
def rewritten():
    value = produce()
    consume(value, rewrite_upstream(value))


def test_an_input_rewritten_with_a_matching_meta_json_during_the_run_is_refused(local_stack):
    with pytest.raises(RunFailed, match="does not match the sha256") as failed:
        rewritten.run(stack=local_stack, cache=False)
    assert failed.value.summary.failed_step == "consume"
    assert failed.value.summary.steps["rewrite_upstream"] == "succeeded"
