"""Two deploys of one model to MLServer at once (two `provision run`s deploying the same model
name) take turns: the model served is one whole version, and nothing is left in the repository
but the model and the lock folder. Two at once used to swap each other's folders mid-load.

The server here speaks MLServer's repository API over HTTP on 127.0.0.1 and loads a model as
MLServer does, from ``<repository>/<name>``; its load takes a while, and fails if the folder it
is loading changes or goes meanwhile, as a real load then does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

LOAD_SECONDS = 0.3


class FakeMLServer:
    def __init__(self, repository: Path) -> None:
        self.repository = repository
        self.served: dict[str, bytes] = {}  # name -> the model.joblib bytes it loaded
        self.failed: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def reply(self, code: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = self.path.split("/")[4]  # /v2/repository/models/<name>/load
                error = server.load(name)
                self.reply(200, {}) if error is None else self.reply(400, {"error": error})

            def do_GET(self) -> None:  # /v2/models/<name>/ready
                self.reply(200 if self.path.split("/")[3] in server.served else 404, {})

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def load(self, name: str) -> str | None:
        import joblib

        folder = self.repository / name
        try:
            settings = json.loads((folder / "model-settings.json").read_text())
            first = (folder / "model.joblib").read_bytes()
            time.sleep(LOAD_SECONDS)
            if (folder / "model.joblib").read_bytes() != first or settings["name"] != name:
                raise RuntimeError("the model folder changed while it was loaded")
            joblib.load(folder / "model.joblib")
        except Exception as exc:
            self.failed.append(f"{type(exc).__name__}: {exc}")
            return self.failed[-1]
        self.served[name] = first
        return None

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def mlserver(home) -> Iterator[FakeMLServer]:
    from zenprovision.home import private_dir

    server = FakeMLServer(private_dir(home / "local" / "dev" / "mlserver" / "models"))
    yield server
    server.stop()


def _model(constant: int):
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="constant", constant=constant).fit([[0.0], [1.0]], [0, 1])


def _served_whole(mlserver: FakeMLServer) -> None:
    """What is served is the folder MLServer loads again on restart, one whole version; nothing else is left."""
    import joblib

    folder = mlserver.repository / "iris"
    assert mlserver.served["iris"] == (folder / "model.joblib").read_bytes()
    assert joblib.load(folder / "model.joblib").constant in (0, 1)
    assert json.loads((folder / "model-settings.json").read_text())["name"] == "iris"
    assert sorted(p.name for p in mlserver.repository.iterdir()) == [".locks", "iris"]
    locks = mlserver.repository / ".locks"  # in the home: private, as the rest of it
    assert locks.stat().st_mode & 0o777 == 0o700 and (locks / "iris.lock").stat().st_mode & 0o777 == 0o600


def test_two_deploys_of_one_model_at_once_take_turns(mlserver):
    from zenprovision.runtime.model_servers.mlserver import MLServerModelServer

    config = {"endpoint": mlserver.endpoint, "model_repository": str(mlserver.repository)}
    start, errors = threading.Barrier(2), []

    def deploy(constant: int) -> None:
        server = MLServerModelServer(config)
        for _ in range(3):
            start.wait(timeout=60)  # both deploys begin together, every round
            try:
                server.deploy(_model(constant), "iris")
            except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=deploy, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and mlserver.failed == []
    _served_whole(mlserver)


DEPLOYER = """
import sys
from sklearn.dummy import DummyClassifier
from zenprovision.runtime.model_servers.mlserver import MLServerModelServer
server = MLServerModelServer({"endpoint": sys.argv[1], "model_repository": sys.argv[2]})
model = DummyClassifier(strategy="constant", constant=int(sys.argv[3])).fit([[0.0], [1.0]], [0, 1])
for _ in range(3):
    server.deploy(model, "iris")
"""


def test_two_processes_deploying_one_model_at_once_both_succeed(mlserver):
    procs = [subprocess.Popen([sys.executable, "-c", DEPLOYER, mlserver.endpoint, str(mlserver.repository), str(k)],
                              stderr=subprocess.PIPE, text=True) for k in (0, 1)]
    outcomes = [(proc.wait(timeout=120), proc.stderr.read()) for proc in procs]
    assert outcomes == [(0, ""), (0, "")] and mlserver.failed == []
    _served_whole(mlserver)


HOLDER = """
import sys, time
from pathlib import Path
from zenprovision.runtime.model_servers.mlserver import _model_lock
with _model_lock(Path(sys.argv[1]), "iris"):
    print("ready", flush=True)
    time.sleep(600)
"""


def test_a_deploy_killed_while_it_holds_the_lock_blocks_no_later_deploy(mlserver):
    from zenprovision.runtime.model_servers.mlserver import MLServerModelServer

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(mlserver.repository)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    started = time.monotonic()
    MLServerModelServer({"endpoint": mlserver.endpoint, "model_repository": str(mlserver.repository)}).deploy(
        _model(1), "iris")
    assert time.monotonic() - started < 30  # not the lock's timeout
    _served_whole(mlserver)
