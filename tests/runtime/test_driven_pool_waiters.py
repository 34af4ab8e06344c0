"""A driven pool waited on from two threads: the one reading the pipes completes the other's future,
and the other returns then, not when some later reply arrives (the pool's ``_pumping`` lock lets
any thread read; the local orchestrator's own run waits on one thread only).
"""

import multiprocessing
import threading
import time

from tests.runtime.test_pipe_pool import pid_after
from zenprovision.runtime.orchestrators.pool import PipePool


def test_a_second_waiter_returns_when_the_reading_thread_completes_its_future():
    pool = PipePool(2, multiprocessing.get_context("fork"), driven=True)
    try:
        slow, quick = pool.submit(pid_after, 30), pool.submit(pid_after, 0.5)
        threading.Thread(target=pool.wait_any, args=([slow],), daemon=True).start()
        for _ in range(1000):  # the other thread is reading the pipes (waiting for `slow`)
            if pool._pumping.locked():
                break
            time.sleep(0.001)
        assert quick.result(timeout=60) in pool._processes
        assert not slow.done()  # returned with its own reply, not the next one (30 s later)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in pool._processes.values():
            process.terminate()
            process.join(10)
