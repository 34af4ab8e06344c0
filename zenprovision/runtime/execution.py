"""Running one step in a worker: load inputs, call the function, store the output.

A step's output lies in its run's folder, named from the step: ``runs/<run>/<step><ext>``
(the data, a plain file of its format), then ``runs/<run>/.<step>.meta.json``. No folder per
step: a new folder makes the step's one fsync commit more journal (docs/reliability.md). An
artifact without its meta file was never completed and is never read.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import posixpath
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from zenprovision.runtime import flavors, materializers
from zenprovision.runtime.context import _CONTEXT, StepContext
from zenprovision.runtime.steps import Step

_STORES: dict[str, Any] = {}

# While a step runs in the run's own process (``provision run --in-process``): a function that
# says whether the run was asked to stop meanwhile (Ctrl-C, SIGTERM). Then the KeyboardInterrupt
# stops the run, as it stops the run's workers; one the step raised itself fails the step, as on
# a worker.
IN_PROCESS: ContextVar[Callable[[], bool] | None] = ContextVar("zenprovision_in_process", default=None)


class TransferError(RuntimeError):
    """A step's task or result that could not cross to or from its worker (it does not pickle, or
    not unpickle): the step's own failure, not a dead process, so it is not retried as one."""


@dataclass
class StepTask:
    run_id: str
    node_id: str
    step: Step
    params: dict[str, Any]
    inputs: dict[str, str]  # parameter -> artifact relpath (as ``save_artifact`` returned it)
    output: str  # where the result goes: ``runs/<run>/<step>`` (``output_stem``)
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


META_SUFFIX = ".meta.json"


def output_stem(run_id: str, node_id: str) -> str:
    """Where a step's output goes; its files are named from it (step names hold no ``/``)."""
    return f"runs/{run_id}/{node_id}"


def meta_path(stem: str) -> str:
    """A stem's meta file: hidden beside its data, and never a step's data file (no name starts with '.')."""
    folder, name = posixpath.split(stem)
    return posixpath.join(folder, f".{name}{META_SUFFIX}")


def locate(relpath: str) -> tuple[str, str]:
    """(meta file, folder of the data it names) for a recorded relpath.

    This layout records the meta file itself (``runs/<run>/.<step>.meta.json``). Any other
    relpath is an earlier version's output folder (``runs/<run>/<step>/output``, holding
    ``meta.json`` and ``data.<ext>``): still read, from there, for cache hits and resumed runs.
    """
    if relpath.endswith(META_SUFFIX):
        return relpath, posixpath.dirname(relpath)
    return f"{relpath}/meta.json", relpath


def load_artifact(store: Any, relpath: str, meta: dict[str, Any] | None = None) -> Any:
    """``meta`` is what the orchestrator recorded when the output was written; without it, the meta file says."""
    meta_file, folder = locate(relpath)
    if meta is None:
        meta = json.loads(store.read_bytes(meta_file))
    data_path = posixpath.join(folder, meta["file"])
    return materializers.load(meta, store.read_bytes(data_path), data_path)  # checks the recorded sha256 first


def save_artifact(store: Any, stem: str, value: Any, where: str) -> dict[str, Any]:
    """Write ``<stem><ext>`` (fsynced), then its meta file; returns the artifact's record."""
    materializer, data = materializers.serialize(value, where)
    folder, name = posixpath.split(stem)
    file = f"{name}{materializer.extension}"
    data_path = posixpath.join(folder, file)
    store.write_bytes(data_path, data)
    meta = {
        "file": file,
        "materializer": materializer.name,
        "type": f"{type(value).__module__}.{type(value).__qualname__}",
        "hash": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    # the commit point; the data is already fsynced, so one sync per step (docs/reliability.md)
    relpath = meta_path(stem)
    store.write_bytes(relpath, json.dumps(meta).encode(), durable=False)
    return {**meta, "relpath": relpath, "uri": store.uri(data_path)}


def execute_step(task: StepTask) -> StepResult:
    """Runs in a worker process; never raises: failures come back as a result (but Ctrl-C in-process)."""
    started = time.perf_counter()
    store = artifact_store_for(task.stack)
    context = StepContext(task.run_id, task.node_id, task.stack, store)
    token = _CONTEXT.set(context)
    try:
        # a worker's task is unpickled, so its constants are its own; in-process they are the
        # pipeline's objects, shared with the step's next attempt and other steps given them
        kwargs = copy.deepcopy(task.params) if IN_PROCESS.get() is not None else dict(task.params)
        for name, relpath in task.inputs.items():
            kwargs[name] = load_artifact(store, relpath, task.input_meta.get(name))
        value = task.step.call(kwargs)
        artifact = save_artifact(store, task.output, value, f"step {task.node_id!r} output")
        return StepResult(task.node_id, True, artifact, metadata=context.metadata,
                          run_metadata=context.run_metadata, seconds=time.perf_counter() - started)
    except BaseException as exc:  # the step's own failure, reported to the orchestrator
        stopped = IN_PROCESS.get()
        if isinstance(exc, KeyboardInterrupt) and stopped is not None and stopped():
            raise
        return StepResult(task.node_id, False, error=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc(), metadata=context.metadata,
                          seconds=time.perf_counter() - started)
    finally:
        _CONTEXT.reset(token)
