"""Running a step on another machine: the task spec in the store, and the remote side.

The orchestrator writes ``runs/<run>/.<step>.task.json`` (what to run, inputs and their hashes,
outputs, the code package) and ``.<step>.task.pkl`` (the step's constant parameters), beside
the step's output in its run's folder: no folder per step. A remote worker needs only the
artifact store's config, the run and the step: it fetches the spec and the code, runs the
step, writes the output and ``.<step>.result.json``.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from zenprovision import __version__
from zenprovision.runtime import code_package
from zenprovision.runtime.execution import StepResult, StepTask, artifact_store_for, execute_step
from zenprovision.runtime.steps import Step, _lookup_step


def task_file(run_id: str, node_id: str, kind: str) -> str:
    """``kind`` is ``task.json``, ``task.pkl`` or ``result.json``: hidden, so never a step's data file."""
    return f"runs/{run_id}/.{node_id}.{kind}"


def write_task(store: Any, task: StepTask, code_path: str, code_root: Path) -> None:
    """Describe ``task`` in the store, so any machine with access can run it."""
    step = task.step
    source = Path(sys.modules[step.func.__module__].__file__ or "")
    relative = source.resolve().relative_to(code_root.resolve()).as_posix() if code_root in source.resolve().parents else ""
    spec = {
        "run_id": task.run_id, "node_id": task.node_id, "module": step.func.__module__,
        "qualname": step.func.__qualname__, "file": relative, "code": code_path,
        "inputs": task.inputs, "output": task.output, "stack": task.stack,
        "input_meta": task.input_meta,  # the hashes in-run inputs are checked against, not their meta.json
        "zenprovision": __version__,  # the worker's must match: the layout of runs is the version's
    }
    store.write_bytes(task_file(task.run_id, task.node_id, "task.pkl"), pickle.dumps(task.params))
    store.write_bytes(task_file(task.run_id, task.node_id, "task.json"), json.dumps(spec).encode())


def _load_step(spec: dict[str, Any], code_root: Path) -> Step:
    module = spec["module"]
    if module == "__main__":  # a script run directly: never re-run its __main__ block here
        module = "zenprovision_remote_main"
    if spec["file"] and getattr(sys.modules.get(module), "__zenprovision_code__", None) != spec["code"]:
        location = code_root / spec["file"]
        module_spec = importlib.util.spec_from_file_location(module, location)
        loaded = importlib.util.module_from_spec(module_spec)
        loaded.__zenprovision_code__ = spec["code"]
        sys.modules[module] = loaded
        if str(code_root) not in sys.path:
            sys.path.insert(0, str(code_root))
        module_spec.loader.exec_module(loaded)
    return _lookup_step(module, spec["qualname"])


def run_remote_step(store_component: dict[str, Any], run_id: str, node_id: str) -> StepResult:
    """The remote side: fetch spec and code, run the step, record its ``result.json``."""
    store = artifact_store_for({"components": {"artifact_store": store_component}})
    where = task_file(run_id, node_id, "task.json")
    try:
        spec = json.loads(store.read_bytes(where))
    except FileNotFoundError:
        spec = {}
    if spec.get("zenprovision") != __version__:
        return _refused(store, run_id, node_id, where, spec.get("zenprovision"))
    params = pickle.loads(store.read_bytes(task_file(run_id, node_id, "task.pkl")))
    code_root = code_package.fetch(store, spec["code"])
    try:
        step = _load_step(spec, code_root)
    except Exception as exc:  # a broken code package is the step's failure, reported like one
        result = StepResult(node_id, False, error=f"cannot load step {spec['qualname']}: {type(exc).__name__}: {exc}")
    else:
        task = StepTask(run_id, node_id, step, params, spec["inputs"], spec["output"], spec["stack"],
                        input_meta=spec.get("input_meta", {}))
        result = execute_step(task)
    store.write_bytes(task_file(run_id, node_id, "result.json"), json.dumps(asdict(result), default=repr).encode())
    return result


def _refused(store: Any, run_id: str, node_id: str, where: str, theirs: str | None) -> StepResult:
    """A task this worker cannot run as written: say which versions differ, not a bare FileNotFoundError."""
    found = f"a task written by zenprovision {theirs}" if theirs else f"no task at {where} (an older orchestrator's?)"
    result = StepResult(node_id, False, error=(
        f"this worker runs zenprovision {__version__} and found {found}: the step image and the "
        "orchestrating zenprovision must be the same version; build and push the step image "
        "again (docs/images/README.md)"))
    store.write_bytes(task_file(run_id, node_id, "result.json"), json.dumps(asdict(result), default=repr).encode())
    return result


def read_result(store: Any, run_id: str, node_id: str) -> StepResult:
    data = json.loads(store.read_bytes(task_file(run_id, node_id, "result.json")))
    return StepResult(**data)
