"""The embedded engine's worker process: one Pulumi program (or one destroy) per process.

Reads a job as JSON on stdin, writes events as JSON lines on stdout (the program's own
prints go to stderr). If the parent dies it keeps going until state is consistent, and the
stack lock it inherited (or the lease it adopted, in a shared home) stays held until then.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from zenprovision.errors import OperationFailed, ZenProvisionError
from zenprovision.extras import missing_extra


class EventChannel:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    def __call__(self, event: dict[str, Any]) -> None:
        if self.broken:
            return
        try:
            self.stream.write(json.dumps(event, default=str) + "\n")
            self.stream.flush()
        except (BrokenPipeError, OSError):
            self.broken = True


def _plan(job: dict[str, Any], emit: EventChannel) -> dict[str, Any]:
    """Predict without applying. This process ends right after, so the cyclic garbage
    collector stays off: importing provider SDKs builds thousands of classes and the
    collections it triggers cost about a tenth of a plan, for memory the process never needs back."""
    import gc

    gc.disable()
    from zenprovision.engines.embedded import state as state_store
    from zenprovision.engines.embedded.ops import Planner
    from zenprovision.engines.embedded.policy_check import findings
    from zenprovision.engines.embedded.values import redact

    planner = Planner(state_store.load(job["stack"]))
    exports = _run(job, planner, preview=True)
    planner.finish()
    foreign = sorted(set(planner.foreign))
    return {
        "changes": [c.to_dict() for c in planner.changes],
        "outputs": redact(exports),
        "applyable": not foreign,
        "reason": f"resources of types {', '.join(foreign[:3])} need the Pulumi CLI" if foreign else "",
        "policy": findings(planner.registered, job.get("labels") or {}, job["config"]),
    }


def _run(job: dict[str, Any], handler: Any, preview: bool) -> dict[str, Any]:
    from zenprovision.engines.embedded import lazy_sdk
    from zenprovision.engines.embedded.monitor import run_program

    lazy_sdk.install()
    return run_program(
        Path(job["recipe_path"]), job["project"], job["stack"], job["config"], handler, preview,
        labels=job.get("labels") or {},
    )


def _up(job: dict[str, Any], emit: EventChannel) -> dict[str, Any]:
    from zenprovision.engines.embedded import state as state_store
    from zenprovision.engines.embedded.ops import Applier

    state = state_store.load(job["stack"])
    state.recipe, state.recipe_path, state.config = job["recipe"], job["recipe_path"], job["config"]
    applier = Applier(state, emit)
    started = time.monotonic()
    try:
        exports = _run(job, applier, preview=False)
        applier.delete_unseen()
    finally:
        state_store.save(state)
    state.outputs = exports
    state_store.save(state)
    return {"counts": applier.counts, "outputs": exports, "seconds": time.monotonic() - started}


def _destroy(job: dict[str, Any], emit: EventChannel) -> dict[str, Any]:
    from zenprovision.engines.embedded import state as state_store
    from zenprovision.engines.embedded.ops import destroy_all

    state = state_store.load(job["stack"])
    started = time.monotonic()
    counts = destroy_all(state, emit)
    if not state.resources and not state.pending:
        state_store.remove(job["stack"])
    return {"counts": counts, "outputs": {}, "seconds": time.monotonic() - started}


def _refresh(job: dict[str, Any], emit: EventChannel) -> dict[str, Any]:
    from zenprovision.engines.embedded import state as state_store
    from zenprovision.engines.embedded.ops import refresh_all

    state = state_store.load(job["stack"])
    checked = len(state.resources)
    return {**refresh_all(state, emit), "checked": checked}


MODES = {"plan": _plan, "up": _up, "destroy": _destroy, "refresh": _refresh}


def _on_signal(signum: int, frame: Any) -> None:
    from zenprovision.engines.embedded.ops import Interrupt

    Interrupt.requested = True


def _stop_when_orphaned(parent: int | None) -> None:
    """A command killed outright (kill -9, a CI job's time limit) cannot pass on its Ctrl-C: its
    worker stops as at Ctrl-C, after the operation in flight, rather than go on changing the
    stack unseen. Its state stays true; the command run again converges."""
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        _on_signal(signal.SIGTERM, None)

    import threading

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _warm_up() -> None:
    """While the plan runs elsewhere: import what an apply needs (a broken import is the job's to report)."""
    import gc

    gc.disable()  # thousands of classes: the collections they trigger find nothing to free
    try:
        import pulumi.dynamic  # noqa: F401
        import pulumi.runtime  # noqa: F401

        from zenprovision.engines.embedded import lazy_sdk, monitor, ops  # noqa: F401
    except Exception:  # noqa: BLE001
        pass
    finally:
        gc.enable()


def _receive_lock(channel: str | None, fd: int | None) -> int | None:
    """The stack lock's descriptor, sent over the channel with the job (engine.Worker.send)."""
    if not channel:
        return fd
    import socket

    with socket.socket(fileno=int(channel)) as sock:
        _, fds, _, _ = socket.recv_fds(sock, 1, 1)
    return fds[0] if fds else None


def _claim_lock(fd: int | None) -> None:
    """Name this process in the inherited lock file: it is the one that writes state."""
    if fd is None:
        return
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} (zenprovision engine worker)".encode(), 0)
    except OSError:
        pass


def _adopt_lease(job: dict[str, Any]) -> Any:
    """Keep renewing the shared home's lease the command took: if the command is killed, the
    lease stays held while this process writes state. Losing it stops the job before its next
    step, and every state write checks it first (the fence)."""
    from zenprovision.engines.embedded import state as state_store
    from zenprovision.engines.embedded.ops import Interrupt
    from zenprovision.locks import fence, shared

    lease = shared.adopt(job["lease"]["stack"], job["lease"]["holder"])
    lease.on_lost = lambda why: setattr(Interrupt, "requested", True)
    save, remove = state_store.save, state_store.remove

    def fenced_save(state: Any) -> None:
        fence(state.stack)
        save(state)

    def fenced_remove(stack: str) -> None:
        fence(stack)
        remove(stack)

    state_store.save, state_store.remove = fenced_save, fenced_remove  # this process runs one job
    return lease


def _let_go(lease: Any, job: dict[str, Any], events: EventChannel) -> None:
    """Hand the lease back to the command, or release it if the command is gone (killed)."""
    if lease is not None:
        from zenprovision.locks import shared

        shared.let_go(lease, release=events.broken or os.getppid() != job.get("parent_pid"))


def _log_traceback() -> None:
    """Into the stack's log, masked: the error may quote a credential given on the command line."""
    from zenprovision.stacks.secrets import scrubbed_traceback

    sys.stderr.write(scrubbed_traceback())


def _failure(events: EventChannel, error: str, message: str, hint: str | None) -> int:
    """The traceback into the log and the error to the command, both masked (the command records it)."""
    from zenprovision.stacks.secrets import scrub_text

    _log_traceback()
    events({"kind": "error", "error": error, "message": scrub_text(message),
            "hint": scrub_text(hint) if hint else hint})
    return 1


def _work(job: dict[str, Any], events: EventChannel, leases: list[Any]) -> int:
    try:
        if job.get("lease"):
            leases.append(_adopt_lease(job))
        result = MODES[job["mode"]](job, events)
    except ZenProvisionError as exc:
        return _failure(events, type(exc).__name__, exc.message, exc.hint)
    except ImportError as exc:  # an optional package: one line naming the extra to install
        error = missing_extra(exc, f"recipe {job.get('recipe') or job['stack']!r}")
        if error is None:
            error = OperationFailed(f"{type(exc).__name__}: {exc}")
        return _failure(events, type(error).__name__, error.message, error.hint)
    except BaseException as exc:  # the program itself failed: report, with its traceback in the log
        return _failure(events, "OperationFailed", f"{type(exc).__name__}: {exc}", None)
    events({"kind": "result", "result": result})
    return 0


def main() -> int:
    events = EventChannel(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if os.environ.get("ZP_ENGINE_WARM"):
        _warm_up()
    text = sys.stdin.read()
    if not text.strip():
        return 0  # a worker started ahead whose job never came (the plan failed, or was declined)
    job = json.loads(text)
    job["lock_fd"] = _receive_lock(os.environ.get("ZP_ENGINE_CHANNEL"), job.get("lock_fd"))
    _claim_lock(job["lock_fd"])
    _stop_when_orphaned(job.get("parent_pid"))
    leases: list[Any] = []
    try:
        return _work(job, events, leases)
    finally:
        for lease in leases:
            _let_go(lease, job, events)


if __name__ == "__main__":
    from zenprovision.quick_exit import run_then_exit

    run_then_exit(main)  # its state is saved: the SDK's teardown (about 0.3 s) is not waited for
