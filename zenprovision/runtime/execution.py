"""Running one step in a worker: load inputs, call the function, store the output.

The output is written as ``data`` then ``meta.json``; an artifact without its ``meta.json``
was never completed and is never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from zenprovision.runtime import flavors, materializers
from zenprovision.runtime.context import _CONTEXT, StepContext
from zenprovision.runtime.steps import Step

_STORES: dict[str, Any] = {}


class TransferError(RuntimeError):
    """A step's task or result that could not cross to or from its worker (it does not pickle, or
    not unpickle): the step's own failure, not a dead process, so it is not retried as one."""


@dataclass
class StepTask:
    run_id: str
    node_id: str
    step: Step
    params: dict[str, Any]
    inputs: dict[str, str]  # parameter -> artifact relpath (folder)
    output: str  # artifact relpath (folder) for the result
    stack: dict[str, Any]
    # parameter -> the input's meta.json as its step returned it in this run; a worker given it
    # does not read meta.json again (inputs not listed, as a resumed run's, are read from the store)
    input_meta: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class StepResult:
    node_id: str
    ok: bool
    artifact: dict[str, Any] | None = None
    error: str = ""
    traceback: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    run_metadata: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def artifact_store_for(stack: dict[str, Any]) -> Any:
    """One store per process and stack: building an fsspec filesystem is not free.

    Keyed by PID too: async filesystems (s3fs, gcsfs) must not cross a fork.
    """
    component = stack["components"]["artifact_store"]
    key = f"{os.getpid()}:{json.dumps(component, sort_keys=True)}"
    if key not in _STORES:
        _STORES[key] = flavors.build("artifact_store", component["flavor"], component.get("config", {}))
    return _STORES[key]


def load_artifact(store: Any, folder: str, meta: dict[str, Any] | None = None) -> Any:
    """``meta`` is what the orchestrator recorded when the output was written; without it, meta.json says."""
    if meta is None:
        meta = json.loads(store.read_bytes(f"{folder}/meta.json"))
    data = store.read_bytes(f"{folder}/{meta['file']}")
    return materializers.load(meta, data, folder)  # checks the recorded sha256 first


def save_artifact(store: Any, folder: str, value: Any, where: str) -> dict[str, Any]:
    materializer, data = materializers.serialize(value, where)
    name = f"data{materializer.extension}"
    store.write_bytes(f"{folder}/{name}", data)
    meta = {
        "file": name,
        "materializer": materializer.name,
        "type": f"{type(value).__module__}.{type(value).__qualname__}",
        "hash": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    # the commit point; the data is already fsynced, so one sync per step (docs/reliability.md)
    store.write_bytes(f"{folder}/meta.json", json.dumps(meta).encode(), durable=False)
    return {**meta, "relpath": folder, "uri": store.uri(folder)}


def execute_step(task: StepTask) -> StepResult:
    """Runs in a worker process; never raises: failures come back as a result."""
    started = time.perf_counter()
    store = artifact_store_for(task.stack)
    context = StepContext(task.run_id, task.node_id, task.stack, store)
    token = _CONTEXT.set(context)
    try:
        kwargs = dict(task.params)
        for name, folder in task.inputs.items():
            kwargs[name] = load_artifact(store, folder, task.input_meta.get(name))
        value = task.step.call(kwargs)
        artifact = save_artifact(store, task.output, value, f"step {task.node_id!r} output")
        return StepResult(task.node_id, True, artifact, metadata=context.metadata,
                          run_metadata=context.run_metadata, seconds=time.perf_counter() - started)
    except BaseException as exc:  # the step's own failure, reported to the orchestrator
        return StepResult(task.node_id, False, error=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc(), metadata=context.metadata,
                          seconds=time.perf_counter() - started)
    finally:
        _CONTEXT.reset(token)
