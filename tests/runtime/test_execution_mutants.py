"""Running one step, as mutation testing showed it needs pinning down: where a step's output lands and what its
meta file records; which layout a recorded relpath is read from; what a step's result carries when it succeeds
and when it fails; a Ctrl-C that stops the run against one the step raised itself. Steps are called here, in this
process, through ``execute_step`` as a worker calls it, on a real local artifact store in a temp folder.

The one mutant left alive is equivalent: deep-copying the parameters on a worker too (its task was unpickled,
so they are its own already; only the cost differs)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time

import pytest

from zenprovision import get_step_context, step
from zenprovision.errors import MaterializerError, ZenProvisionError
from zenprovision.runtime import execution
from zenprovision.runtime.execution import (
    IN_PROCESS,
    StepTask,
    artifact_store_for,
    execute_step,
    load_artifact,
    locate,
    meta_path,
    output_stem,
    save_artifact,
)


def stack_for(root) -> dict:
    return {"name": "rt", "components": {"artifact_store": {"flavor": "local", "config": {"path": root.as_uri()}},
                                         "orchestrator": {"flavor": "local", "config": {}},
                                         "model_server": {"flavor": "mlserver", "config": {}}}}


@pytest.fixture
def stack(tmp_path) -> dict:
    return stack_for(tmp_path / "artifacts")


@pytest.fixture
def store(stack):
    return artifact_store_for(stack)


class RecordingStore:
    """An artifact store that keeps what is written, and how."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.durable: dict[str, bool] = {}

    def write_bytes(self, relpath: str, data: bytes, durable: bool = True) -> None:
        self.files[relpath] = data
        self.durable[relpath] = durable

    def read_bytes(self, relpath: str) -> bytes:
        return self.files[relpath]

    def uri(self, relpath: str) -> str:
        return f"mem://{relpath}"


def task_of(func_step, stack, node_id="train", **more) -> StepTask:
    return StepTask(run_id="r1", node_id=node_id, step=func_step, params=more.pop("params", {}),
                    inputs=more.pop("inputs", {}), output=output_stem("r1", node_id), stack=stack, **more)


# ---------------------------------------------------------------- the layout


def test_a_steps_output_lies_in_its_runs_folder_named_from_the_step():
    assert output_stem("r1", "train") == "runs/r1/train"
    assert meta_path("runs/r1/train") == "runs/r1/.train.meta.json"
    assert meta_path("train") == ".train.meta.json"


def test_a_recorded_relpath_names_its_meta_file_and_data_folder_in_either_layout():
    assert locate("runs/r1/.train.meta.json") == ("runs/r1/.train.meta.json", "runs/r1")
    assert locate("runs/r1/train/output") == ("runs/r1/train/output/meta.json", "runs/r1/train/output")


def test_saving_writes_the_data_synced_then_its_meta_file_and_returns_the_record():
    store = RecordingStore()
    record = save_artifact(store, "runs/r1/train", {"accuracy": 0.9}, "step 'train' output")
    data = store.files["runs/r1/train.json"]
    assert json.loads(data) == {"accuracy": 0.9}
    meta = {"file": "train.json", "materializer": "json", "type": "builtins.dict",
            "hash": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert json.loads(store.files["runs/r1/.train.meta.json"]) == meta
    assert list(store.files) == ["runs/r1/train.json", "runs/r1/.train.meta.json"]  # the meta file commits
    assert store.durable == {"runs/r1/train.json": True, "runs/r1/.train.meta.json": False}
    assert record == {**meta, "relpath": "runs/r1/.train.meta.json", "uri": "mem://runs/r1/train.json"}


class Outer:
    class Inner:
        pass


def test_a_values_type_is_recorded_with_its_module_and_qualified_name():
    store = RecordingStore()
    record = save_artifact(store, "runs/r1/a", Outer.Inner(), "step 'a' output")
    assert record["type"] == f"{__name__}.Outer.Inner"
    assert record["materializer"] == "pickle" and record["file"] == "a.pkl"


def test_saved_output_loads_back_from_its_record_or_its_meta_file(store):
    record = save_artifact(store, "runs/r1/train", [1, 2, 3], "step 'train' output")
    assert load_artifact(store, record["relpath"]) == [1, 2, 3]
    meta = {k: record[k] for k in ("file", "materializer", "type", "hash", "size")}
    os.unlink(store.path(record["relpath"]))  # given the meta, the meta file is not read
    assert load_artifact(store, record["relpath"], meta) == [1, 2, 3]
    assert record["uri"] == f"file://{store.path('runs/r1/train.json')}"


def test_an_earlier_versions_output_folder_is_still_read(store):
    data = json.dumps({"n": 1}).encode()
    store.write_bytes("runs/r0/train/output/data.json", data)
    store.write_bytes("runs/r0/train/output/meta.json", json.dumps(
        {"file": "data.json", "materializer": "json", "hash": hashlib.sha256(data).hexdigest()}).encode())
    assert load_artifact(store, "runs/r0/train/output") == {"n": 1}


def test_one_store_per_process_and_stack(tmp_path, monkeypatch):
    first = stack_for(tmp_path / "a")
    same = json.loads(json.dumps(first))
    same["components"]["artifact_store"] = dict(reversed(list(first["components"]["artifact_store"].items())))
    store = artifact_store_for(first)
    assert artifact_store_for(same) is store  # the same component, keys in another order
    assert artifact_store_for(stack_for(tmp_path / "b")) is not store
    monkeypatch.setattr(execution.os, "getpid", lambda: -1)  # a forked child's: its own store
    assert artifact_store_for(first) is not store


def test_a_component_without_a_config_builds_its_store_with_an_empty_one():
    """What a remote step is handed is the component as written; a flavor may need no config."""
    store = artifact_store_for({"components": {"artifact_store": {"flavor": "local"}}})
    assert store.config == {} and store.flavor == "local"


# ---------------------------------------------------------------- a step's result


@step
def scale(rows: list, factor: int = 2) -> list:
    get_step_context().log_metadata(rows=len(rows))
    get_step_context().log_metadata(run=True, scaled=True)
    return [r * factor for r in rows]


def test_a_step_is_called_with_its_params_and_inputs_and_its_output_saved(stack, store):
    source = save_artifact(store, "runs/r1/load", [1, 2], "step 'load' output")
    started = time.perf_counter()
    result = execute_step(task_of(scale, stack, params={"factor": 3}, inputs={"rows": source["relpath"]}))
    elapsed = time.perf_counter() - started
    assert result.ok is True and result.node_id == "train"
    assert (result.error, result.traceback) == ("", "")
    assert result.artifact["relpath"] == "runs/r1/.train.meta.json"
    assert load_artifact(store, result.artifact["relpath"]) == [3, 6]
    assert result.metadata == {"rows": 2} and result.run_metadata == {"scaled": True}
    assert 0 < result.seconds <= elapsed


def test_an_inputs_meta_given_with_the_task_is_used_instead_of_its_meta_file(stack, store):
    source = save_artifact(store, "runs/r1/load", [1, 2], "step 'load' output")
    meta = {k: source[k] for k in ("file", "materializer", "type", "hash", "size")}
    os.unlink(store.path(source["relpath"]))
    result = execute_step(task_of(scale, stack, inputs={"rows": source["relpath"]}, input_meta={"rows": meta}))
    assert result.ok, result.error
    assert load_artifact(store, result.artifact["relpath"]) == [2, 4]


@step
def fails(n: int = 1) -> int:
    get_step_context().log_metadata(tried=n)
    get_step_context().log_metadata(run=True, seen=True)
    raise ValueError(f"bad n {n}")


def test_a_failing_step_comes_back_as_a_failed_result_with_its_metadata(stack, store):
    started = time.perf_counter()
    result = execute_step(task_of(fails, stack, params={"n": 7}))
    elapsed = time.perf_counter() - started
    assert result.ok is False and result.node_id == "train" and result.artifact is None
    assert result.error == "ValueError: bad n 7"
    assert result.traceback.startswith("Traceback (most recent call last):")
    assert 'raise ValueError(f"bad n {n}")' in result.traceback
    assert result.metadata == {"tried": 7}
    assert result.run_metadata == {}  # a failed attempt logs nothing on the run (it may be retried)
    assert 0 < result.seconds <= elapsed
    assert not store.exists("runs/r1/.train.meta.json")


def test_the_step_context_is_the_steps_only_while_it_runs(stack, store):
    seen = []

    @step
    def look() -> int:
        context = get_step_context()
        seen.append((context.run_id, context.node_id, context.stack, context.artifact_store))
        return 1

    execute_step(task_of(look, stack, node_id="look"))
    execute_step(task_of(fails, stack))
    assert seen == [("r1", "look", stack, store)]
    with pytest.raises(ZenProvisionError):
        get_step_context()


def test_a_step_that_changes_its_params_changes_no_later_attempts_params_in_process(stack):
    @step
    def grow(items: list) -> int:
        items.append(len(items))
        return len(items)

    task = task_of(grow, stack, params={"items": [0]})
    token = IN_PROCESS.set(lambda: False)
    try:
        first, second = execute_step(task), execute_step(task)
    finally:
        IN_PROCESS.reset(token)
    assert first.ok and second.ok
    assert task.params == {"items": [0]}  # the pipeline's own object, shared with the next attempt


@step
def interrupted() -> int:
    raise KeyboardInterrupt


def test_a_ctrl_c_that_stopped_the_run_in_process_propagates(stack):
    token = IN_PROCESS.set(lambda: True)
    try:
        with pytest.raises(KeyboardInterrupt):
            execute_step(task_of(interrupted, stack))
    finally:
        IN_PROCESS.reset(token)
    with pytest.raises(ZenProvisionError):
        get_step_context()  # reset even so


def test_a_keyboard_interrupt_the_step_raised_itself_fails_the_step(stack):
    token = IN_PROCESS.set(lambda: False)
    try:
        result = execute_step(task_of(interrupted, stack))
    finally:
        IN_PROCESS.reset(token)
    assert not result.ok and result.error == "KeyboardInterrupt: "


def test_on_a_worker_a_keyboard_interrupt_fails_the_step(stack):
    assert IN_PROCESS.get() is None
    result = execute_step(task_of(interrupted, stack))
    assert not result.ok and result.error == "KeyboardInterrupt: "


def test_an_in_process_step_that_fails_otherwise_fails_whatever_the_stop(stack):
    token = IN_PROCESS.set(lambda: True)
    try:
        result = execute_step(task_of(fails, stack))
    finally:
        IN_PROCESS.reset(token)
    assert not result.ok and result.error == "ValueError: bad n 1"


def test_a_task_without_input_meta_reads_every_input_from_the_store(stack):
    task = task_of(scale, stack)
    assert task.input_meta == {}
    assert task_of(scale, stack).input_meta is not task.input_meta


def test_an_output_that_cannot_be_stored_fails_its_step_naming_it(stack):
    @step
    def makes_a_lambda() -> object:
        return lambda: None

    result = execute_step(task_of(makes_a_lambda, stack, node_id="make"))
    assert result.ok is False
    assert result.error.startswith("MaterializerError: step 'make' output: cannot store a function with the pickle ")


def test_an_artifact_changed_since_it_was_written_is_refused_naming_its_data_file(store):
    record = save_artifact(store, "runs/r1/train", [1, 2, 3], "step 'train' output")
    with open(store.path("runs/r1/train.json"), "wb") as handle:
        handle.write(b"[1, 2, 4]")
    with pytest.raises(MaterializerError) as caught:
        load_artifact(store, record["relpath"])
    assert caught.value.message.startswith("artifact runs/r1/train.json does not match the sha256")


def _stray_stop_fails_the_test(test):
    """A KeyboardInterrupt out of a test ends pytest's whole session (and a mutation run reads that as a user's
    Ctrl-C, not a killed mutant): one the test did not expect fails that test instead."""

    @functools.wraps(test)
    def guarded(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise AssertionError("a KeyboardInterrupt the test did not expect") from exc

    return guarded


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and callable(_test):
        globals()[_name] = _stray_stop_fails_the_test(_test)
