"""``provision unlock``: who holds a stack's lock, and taking it from a holder that is gone.

In a shared home a crashed machine's lease runs out by itself; ``--force`` is for when
nobody wants to wait (as ``terraform force-unlock``): it takes the lease with If-Match on
the version it read, so it never takes a lock that changed hands meanwhile, and records a
``force-unlock`` operation in the stack's history. In a local home the lock is an ``flock``
that the kernel frees when its process exits: one held by a live process is never broken.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenprovision.errors import InputError
from zenprovision.locks import files, is_shared
from zenprovision.locks.lease import utcnow
from zenprovision.stacks import registry
from zenprovision.stacks.names import validate_stack_name


@dataclass(frozen=True)
class Unlocked:
    stack: str
    previous: str  # who held it; empty when it was not locked
    recorded: bool = False  # a force-unlock operation is in the stack's history


def held_by(stack: str) -> str | None:
    """One line naming the holder of the stack's lock, or None when it is free."""
    validate_stack_name(stack)
    if not is_shared():
        return files.holder(stack)
    from zenprovision.locks import shared

    _, current = shared.current_holder(stack)
    return None if current is None or current.free(utcnow()) else current.describe(utcnow())


def unlock(stack: str, force: bool) -> Unlocked:
    """Without ``force`` refuse (exit 2) naming the holder; with it take the lock away (shared home)."""
    holder = held_by(stack)
    if holder is None:
        return Unlocked(stack, "")
    if not is_shared():
        raise InputError(f"stack {stack!r} is locked by {holder}, a live process on this machine; "
                         "a lock held by a live process is never broken",
                         hint="wait for it, or stop that process: the lock is freed the moment it exits")
    if not force:
        raise InputError(f"stack {stack!r} is locked by {holder}",
                         hint=f"wait for it to finish; if its holder is gone: provision unlock {stack} --force")
    return _force(stack)


def _force(stack: str) -> Unlocked:
    from zenprovision.locks import shared

    _, current = shared.current_holder(stack)
    if current is None or current.free(utcnow()):
        return Unlocked(stack, "")  # freed meanwhile
    lock = shared.force_take(stack, current)
    try:
        record = registry.load(stack)
        if record is not None:
            registry.begin(record, "force-unlock", record.status)
            registry.finish(record, record.status)
    finally:
        lock.release()
    return Unlocked(stack, current.describe(utcnow()), recorded=record is not None)
