"""The embedded engine's public side: locks the stack, runs the worker process, maps events.

The worker writes state, so it holds the stack's lock too until it exits: it inherits the
``flock`` of a local home, and adopts (renews) the lease of a shared one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from typing import Any

from zenprovision import errors, home
from zenprovision.engines.base import (
    DeployRequest,
    DriftReport,
    Engine,
    EngineEvent,
    EventHandler,
    Plan,
    ResourceChange,
    UpResult,
)
from zenprovision.engines.embedded import state as state_store
from zenprovision.interpreter import python_module_argv
from zenprovision.locks import StackLock


def _ignore(event: EngineEvent) -> None:
    return None


@dataclass
class Worker:
    """An engine worker process; the stack lock's descriptor reaches it with its job, over a socket.

    So a worker can be started before the lock is taken: ``prepare_up`` starts the one an
    apply will use while the plan still runs, and its imports overlap the plan (issue 15).
    It inherits this process's environment as it was when it started, so it is only used
    while that environment is unchanged; given no job, it exits.
    """

    proc: subprocess.Popen
    channel: socket.socket
    log_path: Any
    environ: dict[str, str] = field(default_factory=dict)
    stack: str = ""

    @classmethod
    def start(cls, stack: str, warm: bool = False) -> Worker:
        log_path = home.logs_dir() / f"{stack}.log"
        home.private_dir(log_path.parent)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        environ = dict(os.environ)
        try:
            with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
                proc = subprocess.Popen(
                    python_module_argv("zenprovision.engines.embedded.runner"),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, pass_fds=(theirs.fileno(),),
                    env={**environ, "PYTHONUNBUFFERED": "1", "ZP_ENGINE_CHANNEL": str(theirs.fileno()),
                         **({"ZP_ENGINE_WARM": "1"} if warm else {})},
                )
        finally:
            theirs.close()
        return cls(proc, ours, log_path, environ, stack)

    def usable(self) -> bool:
        return self.proc.poll() is None and dict(os.environ) == self.environ

    def send(self, job: dict[str, Any], lock: StackLock | None) -> None:
        """The lock's descriptor first (the worker holds the lock from then on), then the job."""
        fds = [lock.fd] if lock and lock.fd is not None else []
        socket.send_fds(self.channel, [b"L" if fds else b"-"], fds)
        self.channel.close()
        handoff = {"lease": lock.handoff() if lock else None, "parent_pid": os.getpid()}  # a shared home's lease
        self.proc.stdin.write(json.dumps({**job, "lock_fd": None, **handoff}, default=str).encode())
        self.proc.stdin.close()

    def discard(self) -> None:
        """A worker given no job holds no lock and has written nothing: it is killed, not waited for
        (a plan with no changes must not wait for the spare's imports), and reaped."""
        self.channel.close()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.kill()
        _wait_quietly(self.proc)


class EmbeddedEngine(Engine):
    name = "embedded"

    def __init__(self) -> None:
        self._spare: Worker | None = None

    def prepare_up(self, stack: str) -> None:
        """Start the worker a coming ``up`` of ``stack`` will use, so its imports overlap the plan."""
        if self._spare is None:
            self._spare = Worker.start(stack, warm=True)

    def prepare_destroy(self, stack: str) -> None:
        """Start the worker a coming ``destroy`` of ``stack`` will use, so its imports overlap the
        command's own (about a third of a local stack's destroy, issue 15)."""
        self.prepare_up(stack)

    def close(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.discard()

    def _worker(self, stack: str) -> Worker:
        spare, self._spare = self._spare, None
        if spare is not None and spare.usable() and spare.stack == stack:
            return spare
        if spare is not None:
            spare.discard()
        return Worker.start(stack)

    def plan(self, request: DeployRequest) -> Plan:
        result = self._run(self._job("plan", request), _ignore, lock=None)
        return Plan(
            changes=[ResourceChange.from_dict(c) for c in result["changes"]],
            outputs=result["outputs"],
            applyable=result["applyable"],
            reason=result["reason"],
            policy=result["policy"],
        )

    def up(self, request: DeployRequest, on_event: EventHandler) -> UpResult:
        with StackLock(request.stack) as lock:
            result = self._run(self._job("up", request), on_event, lock)
        return UpResult(result["counts"], result["outputs"], result["seconds"])

    def destroy(self, stack: str, on_event: EventHandler) -> UpResult:
        with StackLock(stack) as lock:
            result = self._run({"mode": "destroy", "stack": stack}, on_event, lock)
        return UpResult(result["counts"], {}, result["seconds"])

    def refresh(self, stack: str, on_event: EventHandler) -> DriftReport:
        with StackLock(stack) as lock:
            result = self._run({"mode": "refresh", "stack": stack}, on_event, lock)
        return DriftReport(result["missing"], result["changed"], result["checked"])

    def outputs(self, stack: str) -> dict[str, Any]:
        return state_store.load(stack).outputs

    def has_state(self, stack: str) -> bool:
        loaded = state_store.load(stack)
        return bool(loaded.resources or loaded.pending)

    @staticmethod
    def _job(mode: str, request: DeployRequest) -> dict[str, Any]:
        return {
            "mode": mode,
            "stack": request.stack,
            "project": request.recipe.name,
            "recipe": request.recipe.name,
            "recipe_path": str(request.recipe.path),
            "config": request.config,
            "labels": request.labels,
        }

    def _run(self, job: dict[str, Any], on_event: EventHandler, lock: StackLock | None) -> dict:
        """Run one job in a worker process and stream its events."""
        worker = self._worker(job["stack"]) if job["mode"] in ("up", "destroy") else Worker.start(job["stack"])
        try:
            worker.send(job, lock)
        except OSError:  # the spare died meanwhile: a fresh one
            worker.discard()
            worker = Worker.start(job["stack"])
            worker.send(job, lock)
        proc, log_path = worker.proc, worker.log_path
        final = _stream(proc, on_event)
        if final is None:
            raise errors.OperationFailed(
                f"the engine process for stack {job['stack']!r} exited with code {proc.returncode}",
                hint=f"see the log {log_path}",
            )
        if final["kind"] == "error":
            cls = getattr(errors, final["error"], errors.OperationFailed)
            hint = final.get("hint") or f"details in {log_path}"
            raise cls(final["message"], hint=hint)
        return final["result"]


def _stream(proc: subprocess.Popen, on_event: EventHandler) -> dict[str, Any] | None:
    """Forward progress events; on Ctrl-C let the worker finish its step and save state.

    Whatever goes wrong on this side (Ctrl-C, a closed terminal, a bug in a progress
    handler), the worker is told to stop and waited for: it holds the stack's lock and
    writes its state, so leaving early would let another command in while it still works.
    """
    final = None
    interrupted = False
    while True:
        try:
            for line in proc.stdout:
                event = json.loads(line)
                if event["kind"] in ("result", "error"):
                    final = event
                elif not interrupted:
                    on_event(EngineEvent(**{k: v for k, v in event.items() if k in _EVENT_FIELDS}))
            proc.wait()
            break
        except KeyboardInterrupt:
            if interrupted:
                proc.kill()
            interrupted = True
            proc.send_signal(signal.SIGINT)
        except BaseException:
            proc.send_signal(signal.SIGINT)
            _wait_quietly(proc)
            raise
    if interrupted and (final is None or final["kind"] == "result"):
        raise errors.CancelledError("interrupted; what finished is saved in state",
                                    hint="run the same command again to converge")
    return final


def _wait_quietly(proc: subprocess.Popen) -> None:
    while True:
        try:
            proc.wait()
            return
        except KeyboardInterrupt:
            proc.kill()


_EVENT_FIELDS = set(EngineEvent.__dataclass_fields__)
