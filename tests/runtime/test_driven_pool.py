"""A driven pool: no reader thread, whoever waits reads the workers' replies (the local orchestrator's pool)."""

import multiprocessing
import os
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

import psutil
import pytest

from tests.runtime.test_pipe_pool import dies, fails, pid_after, unpicklable
from zenprovision.runtime.orchestrators.pool import PipePool


@pytest.fixture
def pool():
    made = PipePool(2, multiprocessing.get_context("fork"), driven=True)
    yield made
    made.shutdown(wait=False, cancel_futures=True)
    for process in made._processes.values():
        process.terminate()
        process.join(10)


def test_tasks_run_two_at_a_time_with_no_thread_and_the_rest_wait_their_turn(pool):
    before = set(threading.enumerate())
    futures = [pool.submit(pid_after, 0.3) for _ in range(4)]
    assert set(threading.enumerate()) == before
    pids = [future.result(timeout=60) for future in reversed(futures)]  # waiting on the last reads the others' replies
    assert set(pids) == set(pool._processes) and os.getpid() not in pids


def test_wait_any_returns_as_soon_as_one_is_done(pool):
    slow, quick = pool.submit(pid_after, 30), pool.submit(pid_after, 0)
    assert pool.wait_any([slow, quick]) == {quick}
    assert not slow.done()


def test_failures_and_unsendable_results_come_back_as_errors(pool):
    with pytest.raises(ValueError, match="the step's own error"):
        pool.submit(fails).result(timeout=60)
    assert isinstance(pool.submit(unpicklable).exception(timeout=60), RuntimeError)
    assert pool.submit(pid_after, 0).result(timeout=60) in pool._processes


def test_a_result_not_ready_in_time_times_out_and_still_arrives(pool):
    future = pool.submit(pid_after, 1)
    with pytest.raises(FutureTimeout):
        future.result(timeout=0.05)
    assert future.result(timeout=60) in pool._processes


def test_a_worker_that_dies_breaks_the_pool_at_the_next_wait(pool):
    running, dead, queued = pool.submit(pid_after, 30), pool.submit(dies), pool.submit(pid_after, 0)
    assert dead in pool.wait_any([running, dead, queued])
    for future in (running, dead, queued):
        assert isinstance(future.exception(timeout=0), BrokenProcessPool)
    with pytest.raises(BrokenProcessPool):
        pool.submit(pid_after, 0)
    assert psutil.wait_procs([psutil.Process(pid) for pid in pool._processes if psutil.pid_exists(pid)],
                             timeout=30)[1] == []


def test_shutdown_waits_for_running_tasks_and_ends_every_worker():
    made = PipePool(2, multiprocessing.get_context("fork"), driven=True)
    future = made.submit(pid_after, 0.5)
    made.shutdown(wait=True)
    assert future.done() and future.result(timeout=0) in made._processes
    assert not any(process.is_alive() for process in made._processes.values())
