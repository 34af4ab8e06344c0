"""A local Dask cluster as a dynamic resource: a scheduler and N worker processes on
127.0.0.1, supervised like the MLServer (pid files, logs), stopped on destroy."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
)

from zenprovision.blocks import processes
from zenprovision.home import private_dir

READY_TIMEOUT = 60.0
PROBE_TIMEOUT = 2.0  # one question to the scheduler
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_WORKERS = 64


def _wait_for_workers(address: str, count: int, started: dict[str, Any], root: Path) -> None:
    """Until ``count`` workers joined; fail early, naming its log, if either process exits.

    Each question to the scheduler is bounded (``scheduler_workers``): a process that took its port
    and accepts connections without answering cannot keep us from seeing the scheduler exit.
    """
    from zenprovision.runtime.orchestrators.dask import scheduler_workers

    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for name, proc in started.items():
            if proc.poll() is not None:
                raise processes.ServerFailed(f"dask {name}", f"exited with code {proc.returncode} before it was ready",
                                             root / f"{name}.log")
        try:
            if scheduler_workers(address, timeout=PROBE_TIMEOUT) >= count:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise processes.ServerFailed("dask cluster", f"at {address} did not get {count} workers in {READY_TIMEOUT:.0f}s",
                                 root / "workers.log")


def _commands(root: Path, port: int, workers: int) -> dict[str, list[str]]:
    """Scheduler and workers, every listening socket (dashboards too) on 127.0.0.1."""
    dask = [sys.executable, "-m", "dask"]
    local = ["--dashboard-address", "127.0.0.1:0", "--no-dashboard"]
    return {
        "scheduler": dask + ["scheduler", "--host", "127.0.0.1", "--port", str(port), *local, "--no-show"],
        "workers": dask + ["worker", f"tcp://127.0.0.1:{port}", "--nworkers", str(workers), "--nthreads", "1",
                           "--host", "127.0.0.1", *local, "--local-directory", str(root / "work")],
    }


class DaskClusterProvider(ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        """A failed create leaves nothing behind; its logs go to ``log_dir``."""
        root = Path(props["root"])
        try:
            return CreateResult(str(root), self._start(root, props))
        except Exception as exc:
            raise processes.undo_create(root, props.get("log_dir"), exc) from None

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        workers = int(news.get("workers", 0))
        failures = [] if 1 <= workers <= MAX_WORKERS else [CheckFailure("workers", f"must be 1 to {MAX_WORKERS}")]
        bad = [n for n in news.get("worker_env") or [] if not isinstance(n, str) or not _ENV_NAME.fullmatch(n)]
        if bad:
            failures.append(CheckFailure("worker_env", f"{bad[0]!r} is not an environment variable name"))
        return CheckResult(news, failures)

    def _start(self, root: Path, props: dict[str, Any]) -> dict[str, Any]:
        """A scheduler port another process took before the scheduler bound it is chosen again."""
        for attempt in range(1, processes.PORT_ATTEMPTS + 1):
            try:
                return self._start_on(root, props)
            except processes.ServerFailed as exc:
                if attempt == processes.PORT_ATTEMPTS or not processes.lost_a_port_we_chose(exc.log_path):
                    raise

    def _start_on(self, root: Path, props: dict[str, Any]) -> dict[str, Any]:
        workers, inherited = int(props["workers"]), tuple(props.get("worker_env") or ())
        _stop(root)
        private_dir(root)
        port = processes.free_port()
        started = {name: processes.spawn(command, root / f"{name}.log", _pid_file(root, name), cwd=root,
                                         inherit=inherited if name == "workers" else ())
                   for name, command in _commands(root, port, workers).items()}
        try:
            _wait_for_workers(f"tcp://127.0.0.1:{port}", workers, started, root)
        except BaseException:
            _stop(root)
            raise
        return {**props, "workers": workers, "scheduler_address": f"tcp://127.0.0.1:{port}"}

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("root", "workers") if olds.get(k) != news.get(k)]
        if list(olds.get("worker_env") or []) != list(news.get("worker_env") or []):
            replaces.append("worker_env")  # the workers restart with the new environment
        if not replaces and _pid_file(Path(olds["root"]), "scheduler").running_pid() is None:
            replaces = ["process"]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=True)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Gone only when its scheduler process is; a busy cluster is still ours to stop."""
        alive = _pid_file(Path(props["root"]), "scheduler").running_pid() is not None
        return ReadResult(id_ if alive else "", props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        root = Path(props["root"])
        _stop(root)
        shutil.rmtree(root, ignore_errors=True)


def _pid_file(root: Path, name: str) -> processes.PidFile:
    return processes.PidFile(root / f"{name}.pid")


def _stop(root: Path) -> None:
    for name in ("workers", "scheduler"):  # workers first, so they do not try to reconnect
        processes.stop(_pid_file(root, name))


class LocalDaskCluster(Resource, module="local", name="DaskCluster"):
    scheduler_address: pulumi.Output[str]

    def __init__(self, name: str, root: str, workers: int, log_dir: str | None = None,
                 worker_env: list[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        """``worker_env``: names of the caller's environment variables the workers may see."""
        props = {"root": root, "workers": workers, "log_dir": log_dir, "worker_env": list(worker_env or []),
                 "scheduler_address": None}
        super().__init__(DaskClusterProvider(), name, props, opts)
