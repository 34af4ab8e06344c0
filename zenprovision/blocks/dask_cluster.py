"""A local Dask cluster as a dynamic resource: a scheduler and N worker processes on
127.0.0.1, supervised like the MLServer (pid files, logs), stopped on destroy."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

from zenprovision.blocks import processes

READY_TIMEOUT = 60.0


def _wait_for_workers(address: str, count: int, scheduler: Any, log: Path) -> None:
    from distributed import Client

    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"dask scheduler exited: {processes.tail(log)}")
        try:
            with Client(address, timeout=2, set_as_default=False) as client:
                client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                return
        except (OSError, TimeoutError):
            time.sleep(0.1)
    raise TimeoutError(f"dask cluster at {address} not ready with {count} workers: {processes.tail(log)}")


class DaskClusterProvider(ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        root, workers = Path(props["root"]), int(props["workers"])
        _stop(root)
        root.mkdir(parents=True, exist_ok=True)
        port = processes.free_port()
        address = f"tcp://127.0.0.1:{port}"
        dask = [sys.executable, "-m", "dask"]
        scheduler = processes.spawn(
            dask + ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", "--no-show"],
            root / "scheduler.log", processes.PidFile(root / "scheduler.pid"), cwd=root)
        processes.spawn(
            dask + ["worker", address, "--nworkers", str(workers), "--nthreads", "1", "--no-dashboard",
                    "--host", "127.0.0.1", "--local-directory", str(root / "work")],
            root / "workers.log", processes.PidFile(root / "workers.pid"), cwd=root)
        try:
            _wait_for_workers(address, workers, scheduler, root / "scheduler.log")
        except Exception:
            _stop(root)
            raise
        return CreateResult(str(root), {**props, "workers": workers, "scheduler_address": address})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("root", "workers") if olds.get(k) != news.get(k)]
        if not replaces and processes.PidFile(Path(olds["root"]) / "scheduler.pid").running_pid() is None:
            replaces = ["process"]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=True)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Gone only when its scheduler process is; a busy cluster is still ours to stop."""
        alive = processes.PidFile(Path(props["root"]) / "scheduler.pid").running_pid() is not None
        return ReadResult(id_ if alive else "", props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        root = Path(props["root"])
        _stop(root)
        shutil.rmtree(root, ignore_errors=True)


def _stop(root: Path) -> None:
    for name in ("workers", "scheduler"):  # workers first, so they do not try to reconnect
        processes.stop(processes.PidFile(root / f"{name}.pid"))
    processes.stop_matching("dask", str(root / "work"))


class LocalDaskCluster(Resource, module="local", name="DaskCluster"):
    scheduler_address: pulumi.Output[str]

    def __init__(self, name: str, root: str, workers: int, opts: pulumi.ResourceOptions | None = None):
        props = {"root": root, "workers": workers, "scheduler_address": None}
        super().__init__(DaskClusterProvider(), name, props, opts)
