"""The locks of a shared home (``s3://`` or ``gs://``): leases on documents under ``locks/``.

- ``locks/<stack>.json``: the stack's lock, one holder at a time (``LeaseStackLock``).
- ``locks/<stack>.runs/<run id>.json``: one per pipeline run on the stack (``LeaseRunLease``).
- ``locks/<stack>.destroy.json``: held by a destroy (``LeaseDestroyLease``).

A run writes its marker, then looks for a destroy; a destroy writes its marker, then looks
for runs. The store is strongly consistent, so of a run and a destroy starting together at
least one sees the other and steps back: a run never goes on inside a destroyed stack.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from zenprovision.errors import StackLockedError, WriteConflict
from zenprovision.homes.objects import Objects
from zenprovision.locks.lease import Holder, Lease, read, utcnow

_HELD: dict[str, list[Any]] = {}  # key -> [Lease, depth]: re-entrant within one process


def objects() -> Objects:
    """The document store of the current shared home."""
    from zenprovision import home

    return home.objects()


def stack_key(stack: str) -> str:
    return f"locks/{stack}.json"


def _runs_folder(stack: str) -> str:
    return f"locks/{stack}.runs"


def _destroy_key(stack: str) -> str:
    return f"locks/{stack}.destroy.json"


def unlock_hint(stack: str) -> str:
    return f"wait for it to finish and retry; if its holder is gone: provision unlock {stack} --force"


class LeaseStackLock:
    """A stack's lock in a shared home; ``handoff()`` lets the engine's worker keep it too."""

    fd = None  # nothing for a child process to inherit: it adopts the lease instead

    def __init__(self, stack: str) -> None:
        self.stack, self.key = stack, stack_key(stack)
        self.lease: Lease | None = None
        self.stale_holder: Holder | None = None

    def acquire(self) -> LeaseStackLock:
        held = _HELD.get(self.key)
        if held is not None:
            held[1] += 1
            self.lease = held[0]
            return self
        lease = Lease(objects(), self.key, f"stack {self.stack!r}", unlock_hint(self.stack)).acquire()
        lease.start_heartbeat()
        _HELD[self.key] = [lease, 1]
        self.lease, self.stale_holder = lease, lease.previous
        return self

    def handoff(self) -> dict[str, str] | None:
        """What the engine's worker needs to adopt this lease for the length of its job."""
        return {"stack": self.stack, "holder": self.lease.holder_id} if self.lease else None

    def release(self) -> None:
        if self.lease is None:
            return
        held = _HELD.get(self.key)
        self.lease, lease = None, self.lease
        if held is not None:
            held[1] -= 1
            if held[1] > 0:
                return
            del _HELD[self.key]
        lease.on_lost = None
        lease.release()

    def __enter__(self) -> LeaseStackLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def force_take(stack: str, previous: Holder) -> LeaseStackLock:
    """``provision unlock --force``: take the stack's lease from ``previous`` and hold it as
    ``acquire`` would, so the unlock is recorded under the lock. Each write replaces exactly the
    version read; a renewal by that holder meanwhile is read again, any other holder refused."""
    store = objects()
    lease = Lease(store, stack_key(stack), f"stack {stack!r}", unlock_hint(stack))
    for _ in range(10):
        blob, current = read(store, lease.key)
        if blob is None or current is None or current.holder != previous.holder:
            raise StackLockedError(f"the lock of stack {stack!r} changed hands while it was being taken",
                                   hint=f"see who holds it now: provision unlock {stack}")
        try:
            lease.take_from(blob.etag, note=f"taken from {previous.who()} by provision unlock --force")
            break
        except WriteConflict:
            continue  # its holder renewed it meanwhile
    else:
        raise StackLockedError(f"stack {stack!r}: its holder kept renewing the lock while it was being taken",
                               hint=f"it is alive; stop it first, then: provision unlock {stack} --force")
    lock = LeaseStackLock(stack)
    _HELD[lock.key] = [lease.start_heartbeat(), 1]
    lock.lease, lock.stale_holder = lease, previous
    return lock


def adopt(stack: str, holder: str) -> Lease:
    """In the engine's worker: keep the lease the command took, so it stays held while state is written."""
    lease = Lease(objects(), stack_key(stack), f"stack {stack!r}", unlock_hint(stack)).adopt(holder)
    lease.start_heartbeat()
    _HELD[lease.key] = [lease, 1]
    return lease


def let_go(lease: Lease, release: bool) -> None:
    """The worker's job is done: hand the lease back (stop renewing), or release it if the command is gone."""
    _HELD.pop(lease.key, None)
    lease.on_lost = None
    lease.release() if release else lease.stop()


def fence(stack: str) -> None:
    """Raise ``LockLostError`` if this process holds the stack's lease no more; call before shared writes."""
    held = _HELD.get(stack_key(stack))
    if held is not None:
        held[0].check()


def current_holder(stack: str) -> tuple[str | None, Holder | None]:
    """(etag, holder) of the stack's lease document; (None, None) when there is none."""
    blob, holder = read(objects(), stack_key(stack))
    return (blob.etag if blob else None), holder


class LeaseRunLease:
    """A pipeline run's marker; a destroy that finds it live refuses, or asks the run to stop."""

    def __init__(self, stack: str, run_id: str) -> None:
        self.stack, self.run_id = stack, run_id
        self.key = f"{_runs_folder(stack)}/{run_id}.json"
        self.lease: Lease | None = None

    def acquire(self) -> LeaseRunLease:
        import psutil

        store = objects()
        lease = Lease(store, self.key, f"run {self.run_id}", "run ids are unique: start the run again")
        lease.record.extra = {"run_id": self.run_id, "started": psutil.Process().create_time()}
        lease.acquire()
        _, destroyer = read(store, _destroy_key(self.stack))
        if destroyer is not None and not destroyer.free(utcnow()):
            store.delete(self.key)
            raise StackLockedError(f"stack {self.stack!r} is being destroyed by {destroyer.who()}",
                                   hint="wait for the destroy to finish; then the stack is gone")
        lease.on_lost = _interrupt_this_process
        self.lease = lease.start_heartbeat()
        return self

    def release(self) -> None:
        if self.lease is not None:
            self.lease.on_lost = None
            self.lease.stop()
            self.lease.objects.delete(self.key)
            self.lease = None

    def __enter__(self) -> LeaseRunLease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _interrupt_this_process(why: str) -> None:
    """A destroy --force asked this run to stop (or its marker is gone): stop as Ctrl-C would."""
    os.kill(os.getpid(), signal.SIGINT)


def active_runs(stack: str) -> list[dict]:
    """Live runs on ``stack`` (id, pid, host, user, started); markers of runs whose lease ran out are removed."""
    store, found = objects(), []
    for run_id in store.names(_runs_folder(stack), ".json"):
        key = f"{_runs_folder(stack)}/{run_id}.json"
        _, marker = read(store, key)
        if marker is None or marker.free(utcnow()):
            store.delete(key)  # its run died without letting go
            continue
        found.append({"run_id": run_id, "pid": marker.pid, "host": marker.host, "user": marker.user,
                      "started": marker.extra.get("started", 0)})
    return found


def request_abort(stack: str, run_id: str, by: str) -> bool:
    """Ask a run (on any machine) to stop: its heartbeat finds ``abort`` set and interrupts it."""
    store, key = objects(), f"{_runs_folder(stack)}/{run_id}.json"
    for _ in range(5):
        blob, marker = read(store, key)
        if blob is None or marker is None:
            return False
        marker.abort = by
        try:
            store.put(key, marker.dump(), if_match=blob.etag)
            return True
        except WriteConflict:
            continue  # the run renewed its marker meanwhile: read it again
    return False


class LeaseDestroyLease:
    """Held by a destroy: while it is, no run starts; ``try_acquire`` is True once no run is live."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.lease: Lease | None = None

    def try_acquire(self) -> bool:
        if self.lease is None:
            lease = Lease(objects(), _destroy_key(self.stack), f"stack {self.stack!r}",
                          unlock_hint(self.stack)).acquire()
            self.lease = lease.start_heartbeat()
        return not active_runs(self.stack)

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)
        return True

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()
            self.lease = None
