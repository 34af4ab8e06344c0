"""A lock per stack: one command at a time may change a stack, on one machine or many.

In a local home the locks are ``flock``s (``files``): the kernel frees the lock of a dead
process at once. In a shared home (``s3://``, ``gs://``) they are leases on documents
written with the store's conditional writes (``shared``, ``lease``): a dead holder's lease
expires after ``$ZENPROVISION_LEASE_SECONDS`` (60 s). The names below pick the right one
for the current home, so callers never ask which kind of home they run on.
"""

from __future__ import annotations

from typing import Any

from zenprovision.locks import files


def is_shared() -> bool:
    from zenprovision import home

    return home.shared().shared


class StackLock:
    """The stack's lock: ``files.FileStackLock`` in a local home, ``shared.LeaseStackLock`` in a shared one.

    Re-entrant within a process; held across the engine's work and the writes that follow it.
    """

    def __new__(cls, stack: str) -> Any:
        if is_shared():
            from zenprovision.locks.shared import LeaseStackLock

            return LeaseStackLock(stack)
        return files.FileStackLock(stack)


class RunLease:
    """A pipeline run's shared hold on its stack: runs share it, a destroy needs it alone."""

    def __new__(cls, stack: str, run_id: str) -> Any:
        if is_shared():
            from zenprovision.locks.shared import LeaseRunLease

            return LeaseRunLease(stack, run_id)
        return files.FileRunLease(stack, run_id)


class DestroyLease:
    """The exclusive side of ``RunLease``: held by destroy, so no run starts or goes on under it."""

    def __new__(cls, stack: str) -> Any:
        if is_shared():
            from zenprovision.locks.shared import LeaseDestroyLease

            return LeaseDestroyLease(stack)
        return files.FileDestroyLease(stack)


def active_runs(stack: str) -> list[dict]:
    """Runs holding a lease on ``stack`` (id, pid, host, started); markers of dead runs are removed."""
    if is_shared():
        from zenprovision.locks import shared

        return shared.active_runs(stack)
    return files.active_runs(stack)


def fence(stack: str) -> None:
    """Before a shared write: raise ``LockLostError`` if this process lost the stack's lease.

    A no-op in a local home, where nobody can take a held ``flock`` away.
    """
    from zenprovision.locks import shared

    shared.fence(stack)
