"""Dynamic resources of the ``local`` stack: folders and an MLServer process on 127.0.0.1.

Every provider is idempotent and can find what it made from its inputs alone, so the engine
can finish or undo an operation that a crash interrupted.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from zenprovision.atomic import atomic_write_text
from zenprovision.blocks import processes
from zenprovision.file_uris import file_uri
from zenprovision.home import private_dir

READY_TIMEOUT = 60.0

# ``mlserver start``, ending without the interpreter's teardown once MLServer has shut down
# gracefully (its servers stopped, its models unloaded): freeing the modules it imported took
# about 0.5 s of a 0.7 s stop (issue 15, target 4). A crash still exits non-zero, its traceback in the log.
MLSERVER_MAIN = (
    "from zenprovision.quick_exit import run_then_exit\n"
    "from mlserver.cli.main import main\n"
    "run_then_exit(main)\n"
)


def folder_uri(path: Path) -> str:
    """The folder's ``file://`` URI, percent-encoded (RFC 8089) as ``Path.as_uri()`` writes it.

    The artifact store and the exports read it back as this very folder (``local_path``), and so
    does any other tool, where ``file://`` and the path as it is (what 2026-12-02 wrote) is
    misread by every URL parser once the path holds a space, '#' or '%'.
    """
    return file_uri(str(path))


class FolderProvider(ResourceProvider):
    """A folder; deleting it removes its data only when ``force_destroy`` allows."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["path"])
        private_dir(path)
        return CreateResult(str(path), {**props, "uri": folder_uri(path)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["path"] if olds.get("path") != news.get("path") else []
        changed = (replaces or olds.get("force_destroy") != news.get("force_destroy")
                   or olds.get("uri") != folder_uri(Path(olds["path"])))  # a uri written another way before
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**olds, **news, "uri": folder_uri(Path(news["path"]))})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_ if Path(props["path"]).is_dir() else "", props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        path = Path(props["path"])
        if not path.exists():
            return
        entries = sorted(p.name for p in path.iterdir())
        if entries and not props.get("force_destroy", False):
            raise RuntimeError(
                f"{path} still holds data ({len(entries)} entries, e.g. {entries[0]!r}) and force_destroy is "
                "false; empty it by hand (or allow force_destroy in the recipe's config), then destroy again"
            )
        shutil.rmtree(path)


class LocalFolder(Resource, module="local", name="Folder"):
    """A folder under the stack's home, e.g. the artifact store."""

    path: pulumi.Output[str]
    uri: pulumi.Output[str]

    def __init__(self, name: str, path: str, force_destroy: bool, opts: pulumi.ResourceOptions | None = None):
        props = {"path": path, "force_destroy": force_destroy, "uri": None}
        super().__init__(FolderProvider(), name, props, opts)


class OrchestratorProvider(ResourceProvider):
    """The local orchestrator: a work folder and the number of parallel workers."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        private_dir(Path(props["work_dir"]))
        return CreateResult(props["work_dir"], _with_int(props, "workers"))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]):
        from pulumi.dynamic import CheckFailure, CheckResult

        workers = int(news.get("workers", 0))
        failures = [] if 1 <= workers <= 256 else [CheckFailure("workers", "must be between 1 and 256")]
        return CheckResult(news, failures)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        private_dir(Path(news["work_dir"]))
        return UpdateResult(_with_int(news, "workers"))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_ if Path(props["work_dir"]).is_dir() else "", props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        shutil.rmtree(props["work_dir"], ignore_errors=True)


class LocalOrchestrator(Resource, module="local", name="Orchestrator"):
    work_dir: pulumi.Output[str]
    workers: pulumi.Output[int]

    def __init__(self, name: str, work_dir: str, workers: int, opts: pulumi.ResourceOptions | None = None):
        super().__init__(OrchestratorProvider(), name, {"work_dir": work_dir, "workers": workers}, opts)


class MLServerProvider(ResourceProvider):
    """An MLServer process (Open Inference Protocol v2) with its model repository."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        """A failed create leaves nothing behind; its log goes to ``log_dir``."""
        try:
            return CreateResult(props["root"], self._start(props, port=int(props.get("port") or 0)))
        except Exception as exc:
            raise processes.undo_create(Path(props["root"]), props.get("log_dir"), exc) from None

    def _start(self, props: dict[str, Any], port: int) -> dict[str, Any]:
        """(Re)start the server on ``root``; the model repository is kept.

        Ports we choose are free when chosen, not when MLServer binds them a second later: one
        another process took meanwhile (a busy machine, parallel deploys) is chosen again, up to
        ``processes.PORT_ATTEMPTS`` times. A port the user chose is not replaced: that error is theirs.
        """
        for attempt in range(1, processes.PORT_ATTEMPTS + 1):
            try:
                return self._start_on(props, port)
            except processes.ServerFailed as exc:
                if attempt == processes.PORT_ATTEMPTS or not processes.lost_a_port_we_chose(exc.log_path, port):
                    raise

    def _start_on(self, props: dict[str, Any], port: int) -> dict[str, Any]:
        root = Path(props["root"])
        _stop(root)  # replace whatever an interrupted create left
        port = port or processes.free_port()
        settings = _write_settings(root, port)
        command = [sys.executable, "-c", MLSERVER_MAIN, "start", str(root)]
        log_path = root / "mlserver.log"
        proc = processes.spawn(command, log_path, _pid_file(root), cwd=root)
        endpoint = f"http://127.0.0.1:{port}"
        try:
            processes.wait_until_ready(f"{endpoint}/v2/health/ready", proc, log_path, READY_TIMEOUT, "MLServer")
        except BaseException:
            _stop(root)
            raise
        return {**props, "endpoint": endpoint, "http_port": port, "grpc_port": settings["grpc_port"],
                "model_repository": settings["model_repository_root"], "log_file": str(log_path)}

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A new root is a new server; a new port or a dead process is a restart in place."""
        if olds.get("root") != news.get("root"):
            return DiffResult(changes=True, replaces=["root"], delete_before_replace=True)
        dead = _pid_file(Path(olds["root"])).running_pid() is None
        return DiffResult(changes=dead or olds.get("port") != news.get("port"))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        wanted = int(news.get("port") or 0)
        previous = int(olds.get("http_port") or 0)
        port = wanted or (previous if previous and _port_free(previous) else 0)
        return UpdateResult(self._start(news, port=port))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Gone only when its process is: a busy or paused server is still ours to stop."""
        alive = _pid_file(Path(props["root"])).running_pid() is not None
        return ReadResult(id_ if alive else "", props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        root = Path(props["root"])
        _stop(root)
        shutil.rmtree(root, ignore_errors=True)


class MLServerModelServer(Resource, module="local", name="MLServer"):
    endpoint: pulumi.Output[str]
    model_repository: pulumi.Output[str]

    def __init__(self, name: str, root: str, port: int = 0, log_dir: str | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        props = {"root": root, "port": port, "log_dir": log_dir, "endpoint": None, "model_repository": None}
        super().__init__(MLServerProvider(), name, props, opts)


def _stop(root: Path) -> None:
    """The recorded server (a server runs only once its pid is recorded: see processes.spawn)."""
    processes.stop(_pid_file(root))


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pid_file(root: Path) -> processes.PidFile:
    return processes.PidFile(root / "mlserver.pid")


def _with_int(props: dict[str, Any], key: str) -> dict[str, Any]:
    return {**props, key: int(props[key])}


def _write_settings(root: Path, port: int) -> dict[str, Any]:
    models = root / "models"
    private_dir(models)
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": processes.free_port(),
        "metrics_port": processes.free_port(),
        "metrics_endpoint": None,  # no Prometheus server to start and stop: a faster up and destroy
        "parallel_workers": 0,  # MLServer 1.7.1 workers crash with uvloop >= 0.22
        "model_repository_root": str(models),
        "load_models_at_startup": True,
        "metrics_dir": str(root / ".metrics"),
        "environments_dir": str(root / ".envs"),
        "debug": False,
    }
    atomic_write_text(root / "settings.json", json.dumps(settings, indent=1))
    return settings
