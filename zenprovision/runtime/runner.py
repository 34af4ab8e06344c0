"""Run a pipeline on a deployed stack: build and check the DAG, then schedule it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenprovision.errors import CancelledError, OperationFailed, StackLockedError
from zenprovision.locks import RunLease
from zenprovision.runtime import flavors
from zenprovision.runtime.execution import artifact_store_for, load_artifact
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.orchestrators.base import RunContext
from zenprovision.runtime.pipelines import Pipeline
from zenprovision.runtime.scheduler import Scheduler
from zenprovision.stacks import store as stack_store
from zenprovision.stacks.secrets import scrub_text


@dataclass
class RunSummary:
    run_id: str
    pipeline: str
    stack: str
    status: str
    steps: dict[str, str]
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    failed_step: str = ""
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0
    _stack_doc: dict[str, Any] = field(default_factory=dict, repr=False)

    def output(self, node_id: str) -> Any:
        """Load a step's output from the artifact store."""
        return load_artifact(artifact_store_for(self._stack_doc), self.artifacts[node_id]["relpath"])


class RunFailed(OperationFailed):
    def __init__(self, summary: RunSummary) -> None:
        super().__init__(
            f"run {summary.run_id} failed at step {summary.failed_step!r}: {summary.error}",
            hint=f"fix it and re-run what failed: provision run FILE --stack {summary.stack} --resume {summary.run_id} "
                 "(with the same -p parameters)",
        )
        self.summary = summary


def _quiet(kind: str, node_id: str, detail: str) -> None:
    return None


def run_pipeline(pipeline: Pipeline, stack: str, params: dict[str, Any], cache: bool = True,
                 resume: str | None = None, on_event: Callable[[str, str, str], None] = _quiet,
                 raise_on_failure: bool = True, in_process: bool = False) -> RunSummary:
    """Run ``pipeline`` on ``stack`` holding the stack's run lease, so a destroy waits for it or aborts it.

    ``in_process``: run the steps in this process, one at a time (local orchestrator only).
    """
    stack_store.load(stack)  # a missing stack is reported before any lock file is made
    run_id = f"{pipeline.name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    with RunLease(stack, run_id):
        return _run(pipeline, stack, params, run_id, cache, resume, on_event, raise_on_failure, in_process)


def _run(pipeline: Pipeline, stack: str, params: dict[str, Any], run_id: str, cache: bool, resume: str | None,
         on_event: Callable[[str, str, str], None], raise_on_failure: bool, in_process: bool) -> RunSummary:
    doc = stack_store.load(stack).to_document()  # again: a destroy may have finished before the lease
    _refuse_a_stack_being_destroyed(stack)
    dag = _build(pipeline, params)  # every definition error surfaces before anything runs
    artifact_store = artifact_store_for(doc)
    artifact_store.check()
    component = doc["components"]["orchestrator"]
    orchestrator = flavors.build("orchestrator", component["flavor"], component.get("config", {}))
    if in_process:
        orchestrator.run_in_process()  # refused before anything is recorded where it cannot be done
    meta = MetadataStore(stack)
    reuse = meta.step_outputs(resume) if resume else {}
    with meta.transaction():  # the old run names its successor only if that one is recorded too
        if resume:
            meta.resuming(resume, run_id)  # a missing, running, succeeded or resumed run is a clear error
        meta.start_run(run_id, pipeline.name, pipeline.source_file or "", stack, pipeline.parameters(params), resume,
                       secret_params=pipeline.secret_parameters())
    if resume:  # its process is gone (resuming checked): what it was writing when killed is not coming
        _remove_stale_temps(artifact_store, resume)
    code_root = Path(pipeline.source_file).parent if pipeline.source_file else Path.cwd()
    orchestrator.prepare_run(RunContext(run_id, code_root, artifact_store, doc))
    on_event("run", run_id, "")
    started = time.perf_counter()
    secret_values = _secret_values(pipeline, params)
    scheduler = Scheduler(dag, run_id, doc, artifact_store, meta, orchestrator, cache, reuse, on_event, secret_values)
    try:
        state = scheduler.run()
    except KeyboardInterrupt:
        meta.end_run(run_id, "aborted", "interrupted")
        meta.close()
        raise CancelledError(f"run {run_id} aborted", hint=f"resume it with --resume {run_id}") from None
    except BaseException as exc:  # the orchestrator itself failed: the run must not stay "running"
        meta.end_run(run_id, "failed", scrub_text(f"{type(exc).__name__}: {exc}", secret_values))
        meta.close()
        raise
    _remove_stale_temps(artifact_store, run_id)  # a worker killed mid-write (its step was retried)
    try:
        summary = _summary(meta, pipeline, stack, run_id, state, time.perf_counter() - started, doc)
    finally:
        meta.close()
    if summary.failed_step and raise_on_failure:
        raise RunFailed(summary)
    return summary


def _build(pipeline: Pipeline, params: dict[str, Any]) -> Any:
    """The DAG. An error the pipeline's own code raised while building it that quotes a secret
    parameter anywhere (its message, an attribute it prints, its cause) is replaced by one that
    says the same with the values masked: it is shown, and under --verbose with its chain."""
    try:
        return pipeline.build(**params)
    except Exception as exc:
        secret_values = _secret_values(pipeline, params)
        if secret_values:
            import traceback

            shown = "".join(traceback.format_exception(exc))
            if any(len(value) >= 4 and value in shown for value in secret_values):  # as scrub_text masks
                message = scrub_text(f"{type(exc).__name__}: {exc}", secret_values)
                raise OperationFailed(f"pipeline {pipeline.name!r} failed while building its steps: {message}",
                                      hint="its error quoted a Secret parameter, masked here") from None
        raise


def _refuse_a_stack_being_destroyed(stack: str) -> None:
    """A destroy that was killed (kill -9: its lease went with it) leaves its record saying so; its
    stack may be half gone, and a run must not write artifacts into it."""
    from zenprovision.stacks import registry

    record = registry.load(stack)
    if record is not None and record.status in ("destroying", "destroy-failed"):
        raise StackLockedError(f"stack {stack!r} is being destroyed, or a destroy of it did not finish",
                               hint=f"finish it (provision destroy {stack}) or deploy the stack again")


def _remove_stale_temps(artifact_store: Any, run_id: str) -> None:
    """The temp files in a run's folder whose writer was killed before its rename (a local store's:
    an object store publishes whole objects). Only a gone process's: a step of the run still going
    on elsewhere (a Dask task outlives its run) keeps its own."""
    remove = getattr(artifact_store, "remove_stale_temps", None)
    if remove is not None:
        remove(f"runs/{run_id}")


def _secret_values(pipeline: Pipeline, params: dict[str, Any]) -> frozenset[str]:
    """The values of the run's ``Secret[...]`` parameters, to mask wherever an error repeats them."""
    values = pipeline.parameters(params)
    return frozenset(str(values[name]) for name in pipeline.secret_parameters() if values.get(name) is not None)


def _summary(meta: MetadataStore, pipeline: Pipeline, stack: str, run_id: str, state: Any, seconds: float,
             doc: dict[str, Any]) -> RunSummary:
    """End the run in the metadata store; one aborted meanwhile (``destroy --force``) stays aborted."""
    failure = state.failure
    status = "failed" if failure else "succeeded"
    meta.end_run(run_id, status, failure.error if failure else None)
    if meta.status(run_id) == "aborted":
        raise CancelledError(f"run {run_id} was aborted: its stack was destroyed with --force")
    return RunSummary(
        run_id, pipeline.name, stack, status, dict(state.status),
        artifacts={k: v for k, v in state.artifacts.items()}, metadata=meta.run(run_id)["metadata"],
        failed_step=failure.node_id if failure else "", error=failure.error if failure else "",
        traceback=failure.traceback if failure else "", seconds=seconds, _stack_doc=doc,
    )
