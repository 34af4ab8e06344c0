"""Tear down many stacks: in parallel, never prod, retrying transient failures.

Goes on past a stack that fails, and ends with what was destroyed, what failed (and why)
and what was skipped. Safe to run from several places at once: the stack locks let one
destroy each stack, and the others report it skipped (locked by, or already destroyed by,
the one that got it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from zenprovision import lifecycle
from zenprovision.engines.base import EngineEvent
from zenprovision.errors import (
    ArtifactStoreError,
    CorruptFileError,
    NotFoundError,
    StackLockedError,
    ZenProvisionError,
)
from zenprovision.stacks import registry
from zenprovision.stacks.labels import is_prod
from zenprovision.stacks.overview import StackSummary, summaries

TRANSIENT_WORDS = ("timeout", "timed out", "throttl", "rate exceeded", "temporar", "try again", "connection reset")


@dataclass(frozen=True)
class Outcome:
    stack: str
    result: str  # destroyed, failed, skipped, would-destroy
    reason: str = ""
    attempts: int = 0


def select(env: str | None, owner: str | None, expired: bool, older_than: timedelta | None) -> list[StackSummary]:
    """Matching stacks, and every damaged one (reported as skipped: its labels cannot be read)."""
    return summaries(env=env, owner=owner, expired=expired, older_than=older_than)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (StackLockedError, ArtifactStoreError, ConnectionError, TimeoutError)):
        return True
    return any(word in str(exc).lower() for word in TRANSIENT_WORDS)


def _quiet(event: EngineEvent) -> None:
    return None


def destroy_with_retries(stack: str, attempts: int = 3, backoff: float = 1.0,
                         destroy: Callable[[str], object] | None = None) -> Outcome:
    """Destroy one stack. Another command working on it (a teardown started elsewhere) makes it
    skipped, not failed: locked by it, or already destroyed by it when its turn came."""
    destroy = destroy or (lambda name: lifecycle.destroy(name, _quiet, command="teardown"))
    for attempt in range(1, attempts + 1):
        try:
            destroy(stack)
            return Outcome(stack, "destroyed", attempts=attempt)
        except NotFoundError:
            return Outcome(stack, "skipped", already_destroyed(stack), attempts=attempt)
        except ZenProvisionError as exc:
            error: BaseException = exc
        except Exception as exc:  # an engine or provider failure we did not classify
            error = exc
        if attempt == attempts or not is_transient(error):
            return _given_up(stack, error, attempt)
        time.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def already_destroyed(stack: str) -> str:
    """Why a stack that was selected is gone: who destroyed it, from its history if it says.

    A damaged history file is left out and counted; the readable ones still say who it was.
    """
    damaged: list[CorruptFileError] = []
    try:
        ops = [o for r in registry.history(stack, damaged=damaged) for o in r.operations
               if o.op == "destroy" and o.result == "succeeded"]
    except ZenProvisionError:  # an unreadable history: the plain reason is still true
        ops = []
    left_out = f" ({len(damaged)} damaged history file(s) left out)" if damaged else ""
    if not ops or not ops[-1].by or ops[-1].ended is None:
        return "already destroyed by another command" + left_out
    last = ops[-1]
    return (f"already destroyed by {last.by} ({last.command or 'provision'}) "
            f"at {last.ended:%Y-%m-%d %H:%M:%S} UTC{left_out}")


def _given_up(stack: str, error: BaseException, attempts: int) -> Outcome:
    if isinstance(error, StackLockedError):
        return Outcome(stack, "skipped", error.message, attempts=attempts)  # "stack 'x' is locked by ..."
    return Outcome(stack, "failed", str(error), attempts=attempts)


def teardown(targets: list[StackSummary], parallel: int, dry_run: bool,
             destroy: Callable[[str], object] | None = None, backoff: float = 1.0) -> list[Outcome]:
    skipped = [Outcome(t.name, "skipped", t.problem) for t in targets if t.damaged]
    skipped += [Outcome(t.name, "skipped", "env prod is never torn down") for t in targets if is_prod(t.env)]
    chosen = [t.name for t in targets if not is_prod(t.env) and not t.damaged]
    if dry_run:
        return [Outcome(name, "would-destroy") for name in chosen] + skipped
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        done = list(pool.map(lambda name: destroy_with_retries(name, destroy=destroy, backoff=backoff), chosen))
    return done + skipped
