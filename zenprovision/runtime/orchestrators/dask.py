"""The Dask orchestrator: steps as tasks on a Dask cluster (``scheduler_address``).

Artifacts travel through the artifact store, never through Dask's memory: a task gets only
the run and step ids and returns the step's small result record.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from zenprovision.errors import OperationFailed
from zenprovision.runtime.orchestrators.base import BaseOrchestrator, RunContext
from zenprovision.runtime.orchestrators.remote import RemoteExecutor, failed
from zenprovision.runtime.remote import run_remote_step


class DaskOrchestrator(BaseOrchestrator):
    flavor = "dask"

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.context: RunContext | None = None
        self._pending: list[Any] = []

    def prepare_run(self, context: RunContext) -> None:
        self.context = context

    @contextmanager
    def executor(self) -> Iterator[RemoteExecutor]:
        from distributed import Client

        address = self.config["scheduler_address"]
        try:
            client = Client(address, timeout=10, set_as_default=False)
        except OSError as exc:
            raise OperationFailed(f"the Dask scheduler at {address} is unreachable: {exc}",
                                  hint="is the stack up? `provision doctor STACK`") from exc
        component = self.context.stack["components"]["artifact_store"]
        attempts: dict[str, int] = {}

        def dispatch(run_id: str, node_id: str, future: Future) -> None:
            attempts[node_id] = attempts.get(node_id, 0) + 1
            task = client.submit(run_remote_step, component, run_id, node_id, pure=False,
                                 key=f"zenprovision-{run_id}-{node_id}-{attempts[node_id]}")
            self._pending.append(task)
            task.add_done_callback(lambda done: _settle(done, node_id, future))

        try:
            yield RemoteExecutor(self.context, dispatch)
        finally:
            client.close()

    def probe(self) -> str:
        import os

        from distributed import Client

        address = self.config["scheduler_address"]
        with Client(address, timeout=10, set_as_default=False) as client:
            workers = len(client.scheduler_info()["workers"])
            pid = client.submit(os.getpid, pure=False).result(timeout=60)
        return f"no-op task ran in worker process {pid} ({workers} workers at {address})"

    def abort(self, executor: Any) -> None:
        for task in self._pending:
            task.cancel()


def _settle(done: Any, node_id: str, future: Future) -> None:
    try:
        future.set_result(done.result())
    except Exception as exc:  # the worker died or the task was cancelled
        future.set_result(failed(node_id, f"dask task lost: {type(exc).__name__}: {exc}"))
