"""An executor that runs steps elsewhere: code package and task spec into the store, then
a dispatcher (Dask, Kubernetes) runs ``run_remote_step`` there.

It gives back ``concurrent.futures.Future``s of ``StepResult``, so the shared scheduler
treats remote steps exactly like local ones (retries, skips, resume).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from zenprovision.runtime import code_package
from zenprovision.runtime.execution import StepResult, StepTask
from zenprovision.runtime.orchestrators.base import RunContext
from zenprovision.runtime.remote import write_task

Dispatch = Callable[[str, str, Future], None]  # (run id, node id, future to settle)


class RemoteExecutor:
    def __init__(self, context: RunContext, dispatch: Dispatch) -> None:
        self.context = context
        self.dispatch = dispatch
        self._code: str | None = None
        self._lock = threading.Lock()

    def code_path(self) -> str:
        with self._lock:
            if self._code is None:
                self._code = code_package.upload(self.context.store, self.context.code_root)
            return self._code

    def submit(self, fn: Callable[..., Any], task: StepTask) -> Future:
        future: Future = Future()
        write_task(self.context.store, task, self.code_path(), self.context.code_root)
        self.dispatch(task.run_id, task.node_id, future)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


def failed(node_id: str, error: str) -> StepResult:
    """A step that never reported (worker lost, pod evicted): a failure like any other."""
    return StepResult(node_id, False, error=error)
