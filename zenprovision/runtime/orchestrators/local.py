"""The local orchestrator: a process pool (``pool.PipePool``), as wide as the stack's ``workers``;
or, for a run started with ``--in-process``, the run's own process (``inline.InlineExecutor``)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from zenprovision.runtime.execution import IN_PROCESS
from zenprovision.runtime.orchestrators.base import BaseOrchestrator
from zenprovision.runtime.orchestrators.inline import InlineExecutor
from zenprovision.runtime.orchestrators.lifeline import die_with_parent
from zenprovision.runtime.orchestrators.pool import PipePool
from zenprovision.runtime.preload import preload

ABORT_GRACE = 5.0  # seconds a step's worker has to end after SIGTERM when the run is stopped


def _worker_init(parent: int) -> None:
    # A killed run takes its workers with it; Ctrl-C belongs to the orchestrating process,
    # which stops the workers itself.
    die_with_parent(parent)
    IN_PROCESS.set(None)  # forked from a step run --in-process (a pipeline run inside it): not here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # abort() terminates a worker: whatever its parent took SIGTERM for


class HealingPool:
    """A process pool that replaces itself when a worker died, so a retry gets a fresh one."""

    def __init__(self, make: Callable[[], PipePool]) -> None:
        self._make = make
        self.pool = make()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        try:
            return self.pool.submit(fn, *args)
        except BrokenProcessPool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._make()
            return self.pool.submit(fn, *args)

    def wait_any(self, futures: Iterable[Future]) -> set[Future]:
        """Futures of a pool replaced since are done already (it broke), so the current pool is the one to read."""
        return self.pool.wait_any(futures)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    @property
    def _processes(self) -> dict:
        return getattr(self.pool, "_processes", None) or {}


class LocalOrchestrator(BaseOrchestrator):
    flavor = "local"
    in_process = False

    def run_in_process(self) -> None:
        self.in_process = True

    def warm_up(self, functions: list[Any]) -> None:
        """Workers fork from this process: import the steps' libraries once, here (runtime/preload.py)."""
        if not self.in_process:  # in-process, each step imports what it uses as it runs
            preload(functions)

    @contextmanager
    def executor(self) -> Iterator[Executor]:
        if self.in_process:
            inline = InlineExecutor()
            try:
                yield inline
            finally:
                inline.close()
            return
        # fork: workers inherit the pipeline module the parent loaded, so steps resolve.
        # driven: the scheduler's thread reads the replies as it waits, no reader thread (pool.py).
        context = multiprocessing.get_context("fork")
        pool = HealingPool(lambda: PipePool(self.parallelism, context, initializer=_worker_init,
                                            initargs=(os.getpid(),), driven=True))
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def abort(self, executor: Executor) -> None:
        """Ctrl-C reached the steps' processes' parent; in-process, it has stopped the step already.

        SIGTERM first, so a step's ``finally`` and atexit run; a worker still alive after
        ``ABORT_GRACE`` seconds (its step ignores SIGTERM, or its cleanup hangs) is killed: Ctrl-C
        must not wait for the step to finish.
        """
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        deadline = time.monotonic() + ABORT_GRACE
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(5)
