"""A process pool that hands a step to a worker through its own pipe (issue 15, item 2).

``ProcessPoolExecutor`` moves every task through a manager thread and a queue feeder
thread before a worker sees it, and every result back through the manager: on a loaded
machine each of those wake-ups costs about a millisecond, a large part of a step's cost.
Here the submitting thread writes a task straight to an idle worker's pipe, and one reader
thread completes the futures. A worker that dies breaks the pool as it does for
``ProcessPoolExecutor``: its future and every queued one fail with ``BrokenProcessPool``,
and further submits raise it (``HealingPool`` then makes a new pool).
A task that does not pickle, or a reply that does not unpickle here, fails its own future only.

A ``driven`` pool has no reader thread: whoever waits reads the replies (``wait_any``, or a
future's ``result``). The scheduler waits on one thread anyway; reading there saves a thread
wake-up and a hand-off per step (about 80 us of a chain step's 1.4 ms, issue 15).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection, wait
from typing import Any

from zenprovision.runtime.execution import TransferError

_POOLS: weakref.WeakSet = weakref.WeakSet()

_TURN = 0.05  # seconds a waiter of a driven pool waits on its futures while another thread reads


@atexit.register
def _end_workers_at_exit() -> None:
    """Before multiprocessing joins its children at exit: tell ours to end, or that join would wait forever."""
    for pool in list(_POOLS):
        pool.shutdown(wait=False, cancel_futures=True)
        pool.tell_workers_to_end()


def _serve(conn: Connection, initializer: Callable[..., None] | None, initargs: tuple) -> None:
    """A worker: run each task it is sent, send back (ok, value); ``None`` ends it."""
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        fn, args = task
        try:
            reply = (True, fn(*args))
        except BaseException as exc:  # noqa: BLE001 - the task's own failure, for its future
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result: pickling fails before any byte is sent
            conn.send((False, TransferError(f"its result could not be sent back from the worker: {type(exc).__name__}: {exc}")))


class _DrivenFuture(Future):
    """A future of a driven pool: waiting for it reads the workers' replies."""

    def __init__(self, pool: PipePool) -> None:
        super().__init__()
        self._pool = pool

    def result(self, timeout: float | None = None) -> Any:
        self._pool._pump_until(self, timeout)
        return super().result(timeout=0)  # done, or TimeoutError: the pumping waited the timeout

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._pool._pump_until(self, timeout)
        return super().exception(timeout=0)


class PipePool:
    """``submit`` and ``shutdown`` as an executor has them, ``_processes`` for ``abort``."""

    def __init__(self, workers: int, context: Any, initializer: Callable[..., None] | None = None,
                 initargs: tuple = (), driven: bool = False) -> None:
        self._driven = driven
        self._pumping = threading.Lock()  # driven: one thread reads the pipes at a time
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._busy: dict[Connection, Future] = {}
        self._backlog: deque[tuple[Future, Callable[..., Any], tuple]] = deque()
        self._unsent: list[tuple[Future, BaseException]] = []  # tasks that did not pickle, failed after the lock
        self._broken = ""
        self._closing = False
        self._processes: dict[int, Any] = {}
        self._workers: list[Connection] = []
        self._start = (workers, context, initializer, initargs)
        self._reader: threading.Thread | None = None
        self._wake_read, self._wake_write = context.Pipe(duplex=False)
        _POOLS.add(self)

    def _fork_workers(self) -> None:
        """At the first submit, as ProcessPoolExecutor does: what the run imported by then is inherited."""
        workers, context, initializer, initargs = self._start
        for _ in range(workers):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, initializer, initargs))
            process.start()
            theirs.close()
            self._processes[process.pid] = process
            self._idle.append(ours)
        self._workers = list(self._idle)
        if not self._driven:
            self._reader = threading.Thread(target=self._read, name="pipe-pool-reader", daemon=True)
            self._reader.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = _DrivenFuture(self) if self._driven else Future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool(self._broken)
            if self._closing:
                raise RuntimeError("cannot submit after shutdown")
            if not self._workers:
                self._fork_workers()
            if self._idle:
                conn = self._idle.pop()
                if not self._send(conn, future, fn, args):
                    self._idle.append(conn)
            else:
                self._backlog.append((future, fn, args))
        self._fail_unsent()
        return future

    def _send(self, conn: Connection, future: Future, fn: Callable[..., Any], args: tuple) -> bool:
        """With the lock held; False if ``conn``'s worker is still free (a cancelled or unsendable task).

        A dead worker's pipe fails here or at the reader: the pool breaks there. A task that does not
        pickle fails its future, as in ``ProcessPoolExecutor``: pickling ends before a byte is written.
        """
        if not future.set_running_or_notify_cancel():
            return False
        self._busy[conn] = future
        try:
            conn.send((fn, args))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader sees the worker's end of file and breaks the pool, failing this future
        except Exception as exc:  # noqa: BLE001 - the task's own failure, for its future
            del self._busy[conn]
            self._unsent.append((future, TransferError(
                f"its task could not be sent to a worker: {type(exc).__name__}: {exc}")))
            return False
        return True

    def _fail_unsent(self) -> None:
        """Outside the lock, as every future here is completed: a callback may submit again."""
        if not self._unsent:  # the common case costs no lock (whoever appends calls this after)
            return
        with self._lock:
            failed, self._unsent = self._unsent, []
        for future, exc in failed:
            future.set_exception(exc)

    def _read(self) -> None:
        """Every worker's pipe is watched, idle or not: one that dies is seen at once."""
        while True:
            for conn in wait([self._wake_read, *self._workers]):
                if conn is self._wake_read:
                    return  # shut down: every worker has finished or was stopped
                if not self._receive(conn):
                    return

    def wait_any(self, futures: Iterable[Future]) -> set[Future]:
        """Block until one of ``futures`` is done and return those that are; a driven pool reads here."""
        futures = list(futures)
        while True:
            done = {future for future in futures if future.done()}
            if done:
                return done
            if not self._driven:
                return concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)[0]
            self._pump(None, futures)

    def _pump_until(self, future: Future, timeout: float | None) -> None:
        """Driven: read replies until ``future`` is done or ``timeout`` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._driven and not future.done():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            self._pump(left, [future])

    def _pump(self, timeout: float | None, futures: list[Future] | None = None) -> None:
        """Driven: read what the workers replied, waiting up to ``timeout`` for a first reply.

        A waiter for ``futures`` that finds another thread reading waits for them instead: that thread
        completes them, or stops reading and this one takes over at its next turn.
        """
        if futures is None:
            self._pumping.acquire()
        elif not self._pumping.acquire(blocking=False):
            turn = _TURN if timeout is None else min(timeout, _TURN)
            concurrent.futures.wait(futures, timeout=turn, return_when=concurrent.futures.FIRST_COMPLETED)
            return
        try:
            if self._broken or not self._workers or any(future.done() for future in futures or ()):
                return
            for conn in wait(self._workers, timeout):
                if not self._receive(conn):
                    return
        finally:
            self._pumping.release()

    def _receive(self, conn: Connection) -> bool:
        """One worker's reply; False once the pool is broken (a worker died)."""
        try:
            ok, value = conn.recv()
        except (EOFError, OSError):
            self._break()
            return False
        except Exception as exc:  # noqa: BLE001 - read whole, it does not unpickle here: its future fails
            ok, value = False, TransferError(f"its result could not be read back: {type(exc).__name__}: {exc}")
        with self._lock:
            future = self._busy.pop(conn)
            while self._backlog:
                if self._send(conn, *self._backlog.popleft()):
                    break
            else:
                self._idle.append(conn)
            finished = self._closing and not self._busy
        (future.set_result if ok else future.set_exception)(value)
        self._fail_unsent()
        if finished and not self._driven:
            self._wake_write.send_bytes(b"")
        return True

    def _break(self) -> None:
        """As ``ProcessPoolExecutor`` does: every task in flight or queued fails, every worker ends."""
        reason = "a process in the pool was terminated abruptly while the future was running or pending"
        with self._lock:
            self._broken = reason
            failed = [*self._busy.values(), *(item[0] for item in self._backlog)]
            self._busy.clear()
            self._backlog.clear()
        for process in self._processes.values():
            process.terminate()
        for future in failed:
            if not future.done():
                future.set_exception(BrokenProcessPool(reason))

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Queued tasks still run unless cancelled; then every worker is told to end."""
        with self._lock:
            self._closing = True
            if cancel_futures:
                for future, _, _ in self._backlog:
                    future.cancel()
                self._backlog.clear()
            finished = not self._busy
        if self._driven:
            if wait and self._workers:
                while self._busy and not self._broken:
                    self._pump(None)
                self._stop_workers()
            return
        if finished:
            self._wake_write.send_bytes(b"")
        if wait and self._reader is not None:
            self._reader.join()
            self._stop_workers()

    def _stop_workers(self) -> None:
        self.tell_workers_to_end()
        for process in self._processes.values():
            process.join()

    def tell_workers_to_end(self) -> None:
        """Each finishes the task it runs, if any, then ends."""
        for conn in self._workers:
            try:
                conn.send(None)
            except OSError:
                pass
