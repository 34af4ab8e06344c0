"""Errors of the CLI and the Automation API, mapped at the boundary to zenprovision's own.

Classification uses the SDK's exception types (which the SDK derives from the CLI's exit);
printed text is only read to quote one line of it in a message.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from zenprovision.engines.pulumi_cli import backend as backends
from zenprovision.errors import (
    NotFoundError,
    OperationFailed,
    StackLockedError,
    UnsupportedError,
    ZenProvisionError,
)

INSTALL_HINT = (
    "install it with `curl -fsSL https://get.pulumi.com | sh` (see https://www.pulumi.com/docs/install/) "
    "and put it on PATH; meanwhile `provision plan NAME --stack S --offline` works without it"
)


def cli_missing() -> UnsupportedError:
    return UnsupportedError("the pulumi engine needs the `pulumi` CLI, which is not installed", hint=INSTALL_HINT)


def require_cli() -> str:
    """The CLI's path; checked before anything is written into the home folder."""
    found = shutil.which("pulumi")
    if found is None:
        raise cli_missing()
    return found


@contextmanager
def boundary(op: str, stack: str, backend: str, sink: object = None) -> Iterator[None]:
    """Turn SDK and CLI failures inside the block into one zenprovision error each.

    ``sink`` is the operation's EventSink: its first error diagnostic is a better message
    than the CLI's stderr.
    """
    try:
        yield
    except ZenProvisionError:
        raise
    except FileNotFoundError as exc:
        if _is_cli(exc):
            raise cli_missing() from exc
        raise
    except Exception as exc:
        mapped = translate(exc, op, stack, backend, getattr(sink, "first_error", "") or "")
        if mapped is None:
            raise
        raise mapped from exc


def translate(exc: BaseException, op: str, stack: str, backend: str, diagnostic: str = "") -> ZenProvisionError | None:
    """The zenprovision error for an SDK exception, or None for one that is a bug of ours."""
    from pulumi import automation as auto

    if isinstance(exc, auto.ConcurrentUpdateError):
        return locked(stack, backend)
    if isinstance(exc, auto.StackNotFoundError):
        return NotFoundError(f"the pulumi backend {backend} has no stack {stack!r}",
                             hint="see `provision stacks`; it may have been removed with the pulumi CLI")
    if isinstance(exc, auto.CommandError):
        detail = diagnostic or stderr_line(str(exc)) or "see the output above"
        return OperationFailed(f"pulumi {op} of stack {stack!r} failed: {detail}",
                               hint=f"fix the cause and run the same command again; `provision refresh {stack}` "
                                    "reconciles the state with what exists")
    if isinstance(exc, auto.InvalidVersionError):
        return UnsupportedError(f"this pulumi CLI is too old: {exc}", hint=INSTALL_HINT)
    if type(exc) is RuntimeError:  # the SDK's own, e.g. "summary event never found" after a preview
        return OperationFailed(f"pulumi {op} of stack {stack!r} failed: {diagnostic or exc}",
                               hint="run the same command again")
    return None


def locked(stack: str, backend: str) -> StackLockedError:
    return StackLockedError(
        f"stack {stack!r} is locked: another pulumi update is running on it",
        hint=f"wait for it to finish; if no update is running, {backends.describe_locks(backend)}, "
             f"then run `provision refresh {stack}` to clear pending operations",
    )


def stderr_line(text: str) -> str:
    """The first ``error:`` line of a CommandError's stderr, else its first non-empty line."""
    _, _, stderr = text.partition("\n stderr: ")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.lower().startswith("error:"):
            return line[len("error:"):].strip()
    return lines[0] if lines else ""


def _is_cli(exc: FileNotFoundError) -> bool:
    return exc.filename is not None and Path(str(exc.filename)).name == "pulumi"
