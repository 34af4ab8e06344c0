"""The embedded engine's public side: locks the stack, runs the worker process, maps events.

The worker writes state, so it holds the stack's lock too until it exits: it inherits the
``flock`` of a local home, and adopts (renews) the lease of a shared one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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
from zenprovision.locks import StackLock


def _ignore(event: EngineEvent) -> None:
    return None


class EmbeddedEngine(Engine):
    name = "embedded"

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
        """Run one job in a fresh worker process and stream its events."""
        log_path = home.logs_dir() / f"{job['stack']}.log"
        home.private_dir(log_path.parent)
        with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "zenprovision.engines.embedded.runner"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                pass_fds=(lock.fd,) if lock and lock.fd is not None else (),
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            job = {**job, "lock_fd": lock.fd if lock else None, "lease": lock.handoff() if lock else None,
                   "parent_pid": os.getpid()}
            proc.stdin.write(json.dumps(job, default=str).encode())
            proc.stdin.close()
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
