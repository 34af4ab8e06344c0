"""The local orchestrator: a process pool, as wide as the stack's ``workers``."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from zenprovision.runtime.orchestrators.base import BaseOrchestrator


def _worker_init() -> None:
    # Ctrl-C belongs to the orchestrating process, which stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalOrchestrator(BaseOrchestrator):
    flavor = "local"

    @contextmanager
    def executor(self) -> Iterator[Executor]:
        # fork: workers inherit the pipeline module the parent loaded, so steps resolve.
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(self.parallelism, mp_context=context, initializer=_worker_init)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def abort(self, executor: Executor) -> None:
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(5)
