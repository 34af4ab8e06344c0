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

CONNECT_TIMEOUT = 10.0  # seconds for the scheduler to answer a run or doctor


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
            scheduler_workers(address, timeout=CONNECT_TIMEOUT)  # bounded, unlike Client's handshake: see there
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except OSError as exc:
            raise OperationFailed(f"the Dask scheduler at {address} is unreachable: {exc}",
                                  hint=self.doctor_hint("is the stack up?")) from exc
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
        scheduler_workers(address, timeout=CONNECT_TIMEOUT)  # fails in time where Client could wait forever
        with Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False) as client:
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


def scheduler_workers(address: str, timeout: float) -> int:
    """How many workers the Dask scheduler at ``address`` has, asked within ``timeout`` seconds.

    Bounded whatever listens there: distributed's ``connect`` (so ``Client``) waits for the peer's
    handshake without a timeout, so a process that took the port and accepts but never answers
    would hang it for good. Raises ``OSError`` when nothing usable answers in time.
    """
    import asyncio

    from distributed.core import rpc  # imported before the clock starts: it takes seconds on a busy machine

    async def ask() -> int:
        async with rpc(address, timeout=timeout) as scheduler:
            identity = await scheduler.identity()
        return int(identity["n_workers"])

    def bounded() -> int:
        try:
            return asyncio.run(asyncio.wait_for(ask(), timeout))
        except (asyncio.TimeoutError, TimeoutError) as exc:  # distinct types before Python 3.11
            raise TimeoutError(f"no answer from {address} in {timeout:g}s") from exc
        except OSError:
            raise
        except Exception as exc:  # a peer that answers, but not as a Dask scheduler does
            raise ConnectionError(f"{address} did not answer as a Dask scheduler: {type(exc).__name__}: {exc}") from exc

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return bounded()
    from concurrent.futures import ThreadPoolExecutor  # called on a loop's thread: ask from another

    with ThreadPoolExecutor(1, thread_name_prefix="dask-probe") as pool:
        return pool.submit(bounded).result()
