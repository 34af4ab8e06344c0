"""A Ctrl-C while a finished step's successors are handed to workers loses nothing already finished."""

import pytest

from zenprovision.errors import CancelledError
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.orchestrators.local import HealingPool
from zenprovision.runtime.runner import run_pipeline


def test_a_step_interrupted_while_handing_off_its_successors_is_still_recorded_and_reused(local_stack, monkeypatch):
    from tests.runtime.pipelines.shapes import fanout

    real_submit = HealingPool.submit
    submits: list[str] = []

    def interrupted_at_the_second(self, fn, *args):
        submits.append(args[0].node_id)
        if len(submits) == 2:  # `source` finished; Ctrl-C as its first successor is handed off
            raise KeyboardInterrupt
        return real_submit(self, fn, *args)

    monkeypatch.setattr(HealingPool, "submit", interrupted_at_the_second)
    with pytest.raises(CancelledError):
        fanout.run(stack=local_stack, cache=False, seconds=0)
    assert submits == ["source", "work"]
    store = MetadataStore(local_stack)
    run = store.runs()[0]
    steps = {s["node_id"]: s["status"] for s in store.run(run["id"])["steps"]}
    store.close()
    assert run["status"] == "aborted" and steps.pop("source") == "succeeded"
    assert set(steps.values()) <= {"aborted"}  # the one being handed off, if it was recorded

    monkeypatch.setattr(HealingPool, "submit", real_submit)
    resumed = run_pipeline(fanout, local_stack, {"seconds": 0}, cache=False, resume=run["id"])
    assert resumed.steps["source"] == "cached" and resumed.output("gather") == [0, 10, 20, 30]
