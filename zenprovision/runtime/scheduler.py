"""Runs a DAG on an orchestrator: readiness, caching, retries, skipping, resume.

Shared by every orchestrator; the orchestrator only supplies the executor. This process is
the only writer of the metadata store.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from zenprovision.runtime.dag import DAG, Node
from zenprovision.runtime.execution import (
    StepResult,
    StepTask,
    TransferError,
    execute_step,
    locate,
    output_stem,
)
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.stacks.secrets import scrub_text, scrub_values

Event = Callable[[str, str, str], None]  # (kind, node id, detail)


@dataclass
class RunState:
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # node -> artifact row
    status: dict[str, str] = field(default_factory=dict)
    failure: StepResult | None = None
    attempts: dict[str, int] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)  # steps given an extra attempt after a lost worker


LOST = "the step's process died"


def _result_of(future: Future, node_id: str) -> StepResult:
    """A step whose process died (os._exit, OOM kill) is a failed step, not a crashed run; so is
    one whose task or result does not pickle, and that one says so (its values must pickle)."""
    try:
        return future.result()
    except TransferError as exc:
        return StepResult(node_id, False, error=f"{exc} (a step's arguments and the metadata it logs must pickle)")
    except Exception as exc:
        return StepResult(node_id, False, error=f"{LOST}: {type(exc).__name__}: {exc}")


class Scheduler:
    def __init__(self, dag: DAG, run_id: str, stack: dict[str, Any], store: Any, meta: MetadataStore,
                 orchestrator: Any, cache: bool, reuse: dict[str, dict[str, Any]], on_event: Event,
                 secret_values: frozenset[str] = frozenset()) -> None:
        self.dag, self.run_id, self.stack, self.store, self.meta = dag, run_id, stack, store, meta
        self.orchestrator, self.cache, self.reuse, self.on_event = orchestrator, cache, reuse, on_event
        self.secret_values = secret_values  # masked in step errors before they are stored or shown
        self.state = RunState()
        self.pending = dict.fromkeys(dag.topological())  # in order; a dict, so taking one is O(1)
        self.order = {node_id: index for index, node_id in enumerate(self.pending)}
        self.children = dag.children()
        self.unmet = {node_id: len(node.upstream) for node_id, node in dag.nodes.items()}  # inputs not yet done
        self.ready = {node_id for node_id, count in self.unmet.items() if count == 0}  # pending, inputs done
        self.keys: dict[str, str] = {}  # node -> cache key, known once its inputs are
        self.warmed = False

    def run(self) -> RunState:
        with self.orchestrator.executor() as executor:
            running: dict[Future, str] = {}
            try:
                self._loop(executor, running)
            except BaseException:
                self.orchestrator.abort(executor)
                raise
        return self.state

    def _loop(self, executor: Any, running: dict[Future, str]) -> None:
        while self.pending or running:
            for node_id in self._ready():
                self._take(node_id)
                if not self._try_reuse(self.dag.nodes[node_id]):
                    running[self._submit(executor, node_id)] = node_id
            if not running:
                if self._ready():
                    continue
                break
            finished = self._wait(executor, running)
            for future in finished:
                node_id = running.pop(future)
                self._finish(executor, running, node_id, _result_of(future, node_id))
        for node_id in self.pending:  # blocked behind a failure
            self._mark(node_id, "skipped")
        self.pending.clear()

    @staticmethod
    def _wait(executor: Any, running: dict[Future, str]) -> set[Future]:
        """An executor that reads its workers' replies on the waiting thread says so with ``wait_any``."""
        wait_any = getattr(executor, "wait_any", None)
        if wait_any is not None:
            return wait_any(running)
        return wait(running, return_when=FIRST_COMPLETED)[0]

    def _ready(self) -> list[str]:
        """Pending steps whose inputs all succeeded or came from the cache, in topological order."""
        return sorted(self.ready, key=self.order.__getitem__)

    def _take(self, node_id: str) -> None:
        del self.pending[node_id]
        self.ready.discard(node_id)

    def _done(self, node_id: str) -> None:
        """``node_id`` has its output: the steps reading it are one input closer to ready."""
        for child in self.children[node_id]:
            self.unmet[child] -= 1
            if self.unmet[child] == 0 and child in self.pending:
                self.ready.add(child)

    def _cache_key(self, node: Node) -> str:
        inputs = {name: self.state.artifacts[up]["hash"] for name, up in sorted(node.inputs.items())}
        payload = json.dumps([node.step.name, node.step.source_hash, node.params, inputs], sort_keys=True, default=repr)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _candidate(self, node: Node) -> dict[str, Any] | None:
        """What resume or the cache could reuse for ``node`` (a metadata read only; not yet checked in the store)."""
        key = self.keys[node.id] = self._cache_key(node)  # recorded with the step's next status
        found = self.reuse.get(node.id)
        if found is not None and found.get("cache_key") != key:
            found = None  # resumed with other code, parameters or inputs: run it again
        if found is None and self.cache and node.step.cache:
            found = self.meta.cached_output(key)
        return found

    def _try_reuse(self, node: Node) -> bool:
        """Resume reuses what succeeded in the old run; the cache reuses identical work."""
        found = self._candidate(node)
        if found is None or not self._intact(found):
            return False
        source = found.get("source_run") or found["run_id"]
        logged = found["logged"]  # comes with the output: a cached run shows what the run it reuses showed
        with self.meta.transaction():
            self._record_output(node, found, status="cached", cached_from=source, cache_key=self.keys[node.id],
                                metadata=logged["metadata"], run_metadata=logged["run_metadata"])
            if logged["run_metadata"]:
                self.meta.add_run_metadata(self.run_id, logged["run_metadata"])
        self.on_event("cached", node.id, source)
        return True

    def _intact(self, artifact: dict[str, Any]) -> bool:
        """Complete, and its meta file names the sha256 the metadata store recorded.

        A meta file that is empty or torn (its own write is not fsynced) reads as incomplete. An
        earlier version's output (its own folder) is checked at its ``meta.json`` (``locate``).
        Its data file must be there too: it is a plain file a user may move or delete (the sha256
        check when it is loaded catches a changed one).
        """
        meta_file, folder = locate(artifact["relpath"])
        try:
            meta = json.loads(self.store.read_bytes(meta_file))
        except (FileNotFoundError, ValueError):
            return False
        if not (isinstance(meta, dict) and meta.get("hash") == artifact["hash"] and isinstance(meta.get("file"), str)):
            return False
        return self.store.exists(posixpath.join(folder, meta["file"]))

    def _submit(self, executor: Any, node_id: str) -> Future:
        self._warm_up(node_id)  # before ``started``: the first step's time is its own, not the workers' start
        self._record_start(node_id)
        return self._hand_off(executor, node_id)

    def _warm_up(self, first: str) -> None:
        """Once, at the first hand-off (always a ``_submit``: ``_claim_ready`` runs after a submitted step
        finished): a run whose steps all come from the cache never pays for it."""
        if self.warmed:
            return
        self.warmed = True
        warm_up = getattr(self.orchestrator, "warm_up", None)  # an orchestrator may not have the hook
        if warm_up is not None:
            warm_up([self.dag.nodes[n].step.func for n in [first, *self.pending]])

    def _record_start(self, node_id: str) -> None:
        """``running`` is recorded before the step is handed off: a killed run shows it ``aborted``."""
        self.state.attempts[node_id] = self.state.attempts.get(node_id, 0) + 1
        self.meta.step_status(self.run_id, node_id, self.dag.nodes[node_id].step.name, "running",
                              attempts=self.state.attempts[node_id], started=time.time(), cache_key=self.keys[node_id])

    def _claim_ready(self) -> list[str]:
        """Inside the commit of a finished step: record ``running`` for the steps it made ready.

        Only steps with nothing to reuse: checking a reusable output reads the store, which is
        not done while holding the database's write lock; the loop handles those after the commit.
        """
        claimed = []
        for node_id in self._ready():
            if self._candidate(self.dag.nodes[node_id]) is None:
                self._take(node_id)
                self._record_start(node_id)
                claimed.append(node_id)
        return claimed

    def _hand_off(self, executor: Any, node_id: str) -> Future:
        node = self.dag.nodes[node_id]
        self.on_event("start", node_id, "")
        task = StepTask(
            run_id=self.run_id, node_id=node_id, step=node.step, params=node.params,
            inputs={name: self.state.artifacts[up]["relpath"] for name, up in node.inputs.items()},
            output=output_stem(self.run_id, node_id), stack=self.stack, input_meta=self._input_meta(node),
        )
        return executor.submit(execute_step, task)

    def _input_meta(self, node: Node) -> dict[str, dict[str, Any]]:
        """The meta.json of each input a step of this run wrote: its worker need not read it again.

        Reused outputs (cache, resume) are not listed: their meta.json was checked by ``_intact``, and
        the worker reads it. The data's sha256 is checked against this record before any load.
        """
        known = {}
        for name, up in node.inputs.items():
            artifact = self.state.artifacts[up]
            if self.state.status[up] == "succeeded":
                known[name] = {key: artifact[key] for key in ("file", "materializer", "hash")}
        return known

    def _finish(self, executor: Any, running: dict, node_id: str, result: StepResult) -> None:
        node = self.dag.nodes[node_id]
        if not result.ok:
            result.error = scrub_text(result.error, self.secret_values)
            result.traceback = scrub_text(result.traceback, self.secret_values)
        if self.secret_values:  # metadata a step logged may quote a secret parameter under any key
            result.metadata = scrub_values(result.metadata, self.secret_values)
            result.run_metadata = scrub_values(result.run_metadata, self.secret_values)
        if result.ok:
            # One commit: the step's output and the start of the steps it made ready (docs/reliability.md).
            # Progress lines and hand-offs come after it: neither can undo a finished step's record.
            with self.meta.transaction():
                self._record_output(node, result.artifact, status="succeeded", metadata=result.metadata,
                                    run_metadata=result.run_metadata)
                if result.run_metadata:
                    self.meta.add_run_metadata(self.run_id, result.run_metadata)
                claimed = self._claim_ready()
            self.on_event("succeeded", node_id, f"{result.seconds:.2f}s")
            for claimed_id in claimed:
                running[self._hand_off(executor, claimed_id)] = claimed_id
            return
        # A dead worker pool takes its other steps down too: each gets one extra attempt.
        lost_once = result.error.startswith(LOST) and node_id not in self.state.lost
        if lost_once:
            self.state.lost.add(node_id)
        if lost_once or self.state.attempts[node_id] <= node.step.retries:
            self.on_event("retry", node_id, result.error)
            running[self._submit(executor, node_id)] = node_id
            return
        with self.meta.transaction():
            self.meta.add_lineage(self.run_id, node_id, self._lineage(node))  # what it read, so its DAG edges show
            self.meta.step_status(self.run_id, node_id, node.step.name, "failed",
                                  error=result.traceback or result.error, metadata=result.metadata)
        self.state.status[node_id] = "failed"
        self.state.failure = self.state.failure or result
        self.on_event("failed", node_id, result.error)
        for blocked in sorted(self.dag.downstream(node_id)):
            if blocked in self.pending:
                self._take(blocked)
                self._mark(blocked, "skipped")

    def _mark(self, node_id: str, status: str) -> None:
        self.state.status[node_id] = status
        self.meta.step_status(self.run_id, node_id, self.dag.nodes[node_id].step.name, status)
        self.on_event(status, node_id, "")

    def _record_output(self, node: Node, artifact: dict[str, Any], status: str, **fields: Any) -> None:
        artifact_id = self.meta.add_artifact(self.run_id, node.id, "output", artifact)
        self.meta.add_lineage(self.run_id, node.id, self._lineage(node))
        self.meta.step_status(self.run_id, node.id, node.step.name, status, **fields)
        self.state.artifacts[node.id] = {**artifact, "id": artifact_id}
        self.state.status[node.id] = status
        self._done(node.id)

    def _lineage(self, node: Node) -> dict[str, int]:
        """Input name -> the artifact it was read from (every upstream has one by then)."""
        return {name: self.state.artifacts[up]["id"] for name, up in node.inputs.items()}
