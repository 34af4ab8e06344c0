"""`--in-process`: each step's output is recorded as soon as the step returns, as the worker pool
records each step as its reply comes in. Before, the steps a finished step made ready (a
fan-out) all ran before any of them was recorded: a Ctrl-C or kill -9 in the last of them lost
every sibling that had finished (`--resume` ran them all again), and each sibling's recorded
end was the end of the last one."""

import os
import signal

import pytest

from zenprovision import pipeline, step
from zenprovision.errors import CancelledError
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.runner import run_pipeline

RAN: list[str] = []
NODES = {"one": "branch", "two": "branch_2", "three": "branch_3"}


@step
def source() -> int:
    return 1


@step(cache=False)
def branch(x: int, name: str = "") -> str:
    RAN.append(name)
    if len(RAN) == 3 and not os.environ.get("R7_NO_STOP"):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the last sibling runs
    return name


@pipeline
def fan():
    x = source()
    for name in ("one", "two", "three"):
        branch(x, name=name)


def test_a_ctrl_c_in_the_last_of_a_fan_out_keeps_the_siblings_that_finished(local_stack, monkeypatch):
    RAN.clear()
    with pytest.raises(CancelledError):
        fan.run(stack=local_stack, in_process=True)
    run = MetadataStore(local_stack).runs()[0]
    assert run["status"] == "aborted"
    details = MetadataStore(local_stack).run(run["id"])
    steps = {s["node_id"]: s["status"] for s in details["steps"]}
    first_two = [NODES[name] for name in RAN[:2]]
    assert [steps[node] for node in first_two] == ["succeeded", "succeeded"]  # before: both "aborted"
    assert {a["node_id"] for a in details["artifacts"]} == {"source", *first_two}

    RAN.clear()
    monkeypatch.setenv("R7_NO_STOP", "1")
    resumed = run_pipeline(fan, local_stack, {}, resume=run["id"], in_process=True)
    assert resumed.status == "succeeded"
    assert sorted(node for node, status in resumed.steps.items() if status == "cached") == sorted(["source",
                                                                                                    *first_two])
    assert len(RAN) == 1  # only the interrupted step runs again
