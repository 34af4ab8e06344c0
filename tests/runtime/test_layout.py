"""What a user browsing the artifact store finds: each output a plain file of its format named after its step,
in its run's folder, with no folder per step (docs/pipelines.md)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from zenprovision import pipeline, step
from zenprovision.errors import PipelineDefinitionError
from zenprovision.runtime.metadata import MetadataStore


@step
def grid() -> np.ndarray:
    return np.arange(6.0).reshape(2, 3)


@step
def summary(values: np.ndarray) -> dict:
    return {"total": float(values.sum())}


@step
def labels(values: np.ndarray) -> set:
    return {int(v) for v in values.ravel()}


@pipeline
def browsed():
    values = grid()
    summary(values)
    labels(values)


def test_each_output_is_a_plain_file_named_after_its_step_in_its_runs_folder(local_stack, home):
    run = browsed.run(stack=local_stack, cache=False)
    folder = home / "artifacts" / "runs" / run.run_id
    assert not [p for p in folder.iterdir() if p.is_dir()]  # no folder per step
    assert sorted(p.name for p in folder.iterdir()) == [
        ".grid.meta.json", ".labels.meta.json", ".summary.meta.json", "grid.npy", "labels.pkl", "summary.json"]
    assert np.array_equal(np.load(folder / "grid.npy"), np.arange(6.0).reshape(2, 3))  # no header or footer of ours
    assert json.loads((folder / "summary.json").read_text()) == {"total": 15.0}
    assert pickle.loads((folder / "labels.pkl").read_bytes()) == {0, 1, 2, 3, 4, 5}
    meta = json.loads((folder / ".grid.meta.json").read_text())
    assert meta["file"] == "grid.npy" and meta["materializer"] == "numpy"
    uris = {a["node_id"]: a["uri"] for a in MetadataStore(local_stack).run(run.run_id)["artifacts"]}
    assert uris["grid"] == (folder / "grid.npy").as_uri()  # the recorded URI opens the data itself


@step(name="a")
def first() -> dict:
    return {"from": "a"}


@step(name="a.meta")
def second() -> dict:
    return {"from": "a.meta"}


@pipeline
def neighbours():
    first()
    second()


def test_a_step_named_like_another_steps_meta_file_keeps_both_outputs_apart(local_stack, home):
    """A step's meta file starts with '.', which no step name may: no output ever takes its name."""
    run = neighbours.run(stack=local_stack, cache=False)
    assert run.output("a") == {"from": "a"} and run.output("a.meta") == {"from": "a.meta"}
    folder = home / "artifacts" / "runs" / run.run_id
    assert sorted(p.name for p in folder.iterdir()) == [".a.meta.json", ".a.meta.meta.json", "a.json", "a.meta.json"]
    with pytest.raises(PipelineDefinitionError, match="invalid step name"):
        step(name=".a")(lambda: 1)
