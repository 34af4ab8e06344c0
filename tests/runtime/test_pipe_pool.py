"""The local orchestrator's process pool: a step goes straight to a worker's pipe (issue 15, item 2)."""

import multiprocessing
import os
import threading
import time
from concurrent.futures import wait
from concurrent.futures.process import BrokenProcessPool

import psutil
import pytest

from zenprovision.runtime.execution import TransferError
from zenprovision.runtime.orchestrators.local import LocalOrchestrator
from zenprovision.runtime.orchestrators.pool import PipePool


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def fails() -> None:
    raise ValueError("the step's own error")


def dies() -> None:
    os._exit(3)


def unpicklable():
    return threading.Lock()


@pytest.fixture
def pool():
    made = PipePool(2, multiprocessing.get_context("fork"))
    yield made
    made.shutdown(wait=False, cancel_futures=True)
    for process in made._processes.values():
        process.terminate()
        process.join(10)


def test_tasks_run_two_at_a_time_and_the_rest_wait_their_turn(pool):
    futures = [pool.submit(pid_after, 0.3) for _ in range(4)]
    pids = [future.result(timeout=60) for future in futures]
    assert set(pids) == set(pool._processes) and os.getpid() not in pids


def test_a_task_failure_and_an_unsendable_result_come_back_as_errors(pool):
    with pytest.raises(ValueError, match="the step's own error"):
        pool.submit(fails).result(timeout=60)
    with pytest.raises(TransferError, match="its result could not be sent back from the worker"):
        pool.submit(unpicklable).result(timeout=60)
    assert pool.submit(pid_after, 0).result(timeout=60) in pool._processes  # the pool still works


def test_a_worker_that_dies_breaks_the_pool_as_process_pool_executor_does(pool):
    running = pool.submit(pid_after, 30)
    dead = pool.submit(dies)
    queued = pool.submit(pid_after, 0)
    wait([running, dead, queued], timeout=60)
    for future in (running, dead, queued):
        assert isinstance(future.exception(), BrokenProcessPool)
    with pytest.raises(BrokenProcessPool):
        pool.submit(pid_after, 0)
    assert psutil.wait_procs([psutil.Process(pid) for pid in pool._processes if psutil.pid_exists(pid)],
                             timeout=30)[1] == []  # no worker is left


def test_shutdown_waits_for_running_tasks_and_ends_every_worker():
    made = PipePool(2, multiprocessing.get_context("fork"))
    future = made.submit(pid_after, 0.5)
    made.shutdown(wait=True)
    assert future.result(timeout=0) in made._processes
    assert not any(process.is_alive() for process in made._processes.values())


def test_a_step_reaches_its_worker_without_a_manager_or_feeder_thread(home):
    before = set(threading.enumerate())
    with LocalOrchestrator({"workers": 2}).executor() as executor:
        assert executor.submit(pid_after, 0).result(timeout=60) != os.getpid()
        added = {thread.name for thread in set(threading.enumerate()) - before}
    assert added == set()  # the run's thread reads replies; ProcessPoolExecutor adds a manager and a queue feeder
