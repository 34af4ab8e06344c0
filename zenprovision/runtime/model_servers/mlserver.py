"""MLServer (Open Inference Protocol, v2 REST) with a model repository folder.

A model is written into the repository (``<name>/model.joblib`` and
``model-settings.json``) and loaded through the repository API, so MLServer also loads it
again after a restart. Deploys of one model take turns (``_model_lock``), in every process.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zenprovision.errors import InputError, ModelServerError
from zenprovision.runtime.model_servers.base import BaseModelServer

LOAD_TIMEOUT = 60.0
LOCK_TIMEOUT = 4 * LOAD_TIMEOUT  # a deploy in the way loads, waits for ready and may load the old version again
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # one folder, never hidden, safe in a URL path
RETIRED = "~retired"  # ``.<name>~retired.tmp-...``: the version a deploy swapped out (no name has a ~)


def _call(method: str, url: str, body: Any = None, timeout: float = LOAD_TIMEOUT, *, hint: str) -> tuple[int, Any]:
    """(status, JSON body); an unreachable server is a ``ModelServerError`` with ``hint``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode() or "null"
            return response.status, json.loads(text)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        try:
            return exc.code, json.loads(text)
        except ValueError:
            return exc.code, {"error": text}
    except (urllib.error.URLError, OSError) as exc:
        raise ModelServerError(f"model server at {url} is unreachable: {exc}", hint=hint) from exc


class MLServerModelServer(BaseModelServer):
    flavor = "mlserver"

    @property
    def endpoint(self) -> str:
        return self.config["endpoint"].rstrip("/")

    @property
    def _unreachable(self) -> str:
        """What to run when the server does not answer: a local stack's server stops with its machine
        or a kill; refresh tells, a deploy of the same recipe starts it again (as getting-started says)."""
        if not self.stack:  # built by hand, not for a stack: name the command that finds it
            return "is its stack up? `provision stacks` lists them; `provision refresh NAME` says what stopped"
        again = f"`provision recipe {self.recipe} --stack {self.stack}`" if self.recipe else "a deploy of its recipe"
        return (f"is stack {self.stack!r} up? `provision refresh {self.stack}` says what stopped; "
                f"{again} (with the -c values it was deployed with) starts it again")

    def _infer_url(self, name: str) -> str:
        return f"{self.endpoint}/v2/models/{name}/infer"

    def deploy(self, model: Any, name: str) -> dict[str, Any]:
        if not MODEL_NAME.fullmatch(name):
            raise InputError(f"model name {name!r} cannot name a model folder and URL of MLServer",
                             hint="use letters, digits, '_', '.' and '-', starting with a letter or digit (at most 128)")
        if not _is_sklearn(model):
            raise InputError(f"deploy_model on mlserver serves scikit-learn models, not {type(model).__name__}")
        with _model_lock(Path(self.config["model_repository"]), name):
            retired = self._write_to_repository(model, name)
            try:
                status, body = _call("POST", f"{self.endpoint}/v2/repository/models/{name}/load",
                                     hint=self._unreachable)
            except ModelServerError:  # no answer: the server would load the new version when it starts again
                self._roll_back(name, retired, reload_quietly=True)
                raise
            if status != 200:
                self._roll_back(name, retired)
                reason = body.get("error", body) if isinstance(body, dict) else body
                raise ModelServerError(f"model server failed to load model {name!r}: {reason}",
                                       hint="the previous version, if any, is still served")
            if retired is not None:
                shutil.rmtree(retired, ignore_errors=True)
            self._wait_ready(name)
        return {"name": name, "infer_url": self._infer_url(name), "server": self.endpoint}

    def _write_to_repository(self, model: Any, name: str) -> Path | None:
        """Write the model folder beside its place, then swap it in; returns the old one.

        Both are hidden folders named by ``atomic.temp_name`` (MLServer skips hidden folders), so
        what a deploy killed between the two renames left is told from a live deploy's: ``_tidy``.
        """
        import joblib

        from zenprovision.atomic import file_mode, temp_name

        repository = Path(self.config["model_repository"])
        _tidy(repository)
        staging = repository / temp_name(f".{name}")
        staging.mkdir(mode=0o700)  # cut by the umask, never widened
        try:
            mode = file_mode(repository)  # private inside the home: the server runs as this user
            buffer = io.BytesIO()
            joblib.dump(model, buffer)
            _write_new(staging / "model.joblib", buffer.getvalue(), mode)
            settings = {"name": name, "implementation": "mlserver_sklearn.SKLearnModel",
                        "parameters": {"uri": "./model.joblib", "version": "v1"}}
            _write_new(staging / "model-settings.json", json.dumps(settings).encode(), mode)
            target = repository / name
            retired = None
            if target.exists():
                retired = repository / temp_name(f".{name}{RETIRED}")
                os.replace(target, retired)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return retired

    def _roll_back(self, name: str, retired: Path | None, reload_quietly: bool = False) -> None:
        """A model that does not load must not stay in the repository (MLServer reloads it).

        ``reload_quietly``: the server did not answer the load; it may still have taken the new
        version (a timeout), so the old one is loaded again if it answers now, and never an error
        on top of the one being raised if it does not.
        """
        target = Path(self.config["model_repository"]) / name
        shutil.rmtree(target, ignore_errors=True)
        if retired is not None:
            os.replace(retired, target)
            try:
                _call("POST", f"{self.endpoint}/v2/repository/models/{name}/load", hint=self._unreachable)
            except ModelServerError:
                if not reload_quietly:
                    raise

    def _wait_ready(self, name: str) -> None:
        deadline = time.monotonic() + LOAD_TIMEOUT
        while time.monotonic() < deadline:
            status, _ = _call("GET", f"{self.endpoint}/v2/models/{name}/ready", timeout=5, hint=self._unreachable)
            if status == 200:
                return
            time.sleep(0.1)
        raise ModelServerError(f"model {name!r} did not become ready in {LOAD_TIMEOUT:.0f}s")

    def models(self) -> list[dict[str, Any]]:
        status, body = _call("POST", f"{self.endpoint}/v2/repository/index", {}, timeout=10, hint=self._unreachable)
        if status != 200:
            raise ModelServerError(f"model server at {self.endpoint} answered {status} to the repository index")
        return [{"name": m["name"], "state": m.get("state", ""), "reason": m.get("reason", ""),
                 "infer_url": self._infer_url(m["name"])} for m in body]

    def predict(self, name: str, rows: list[list[float]]) -> list[Any]:
        request = {"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])],
                               "datatype": "FP64", "data": [v for row in rows for v in row]}]}
        status, body = _call("POST", self._infer_url(name), request, timeout=30, hint=self._unreachable)
        if status != 200:
            raise ModelServerError(f"model {name!r} refused the request ({status}): {body}")
        return body["outputs"][0]["data"]


@contextmanager
def _model_lock(repository: Path, name: str) -> Iterator[None]:
    """One deploy of a model at a time, in every process and thread: two at once swapped each
    other's folders mid-load. An ``flock`` on ``.locks/<name>.lock`` in the repository (hidden:
    MLServer skips it), which the kernel frees when its holder dies, so a killed deploy blocks nobody."""
    from zenprovision.atomic import file_mode

    folder = repository / ".locks"
    folder.mkdir(mode=0o700, exist_ok=True)  # cut by the umask, never widened
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), file_mode(repository))
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ModelServerError(f"another deploy of model {name!r} did not finish in {LOCK_TIMEOUT:.0f}s",
                                           hint="wait for it to finish, then deploy again") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _tidy(repository: Path) -> None:
    """What deploys killed mid-swap left, as ``atomic.is_stale_temp`` tells it (its process is gone):
    a folder never swapped in is removed; the version a deploy swapped out is put back when no
    version took its place, else removed. A live deploy's folders are left alone."""
    from zenprovision.atomic import is_stale_temp

    try:
        stale = [entry.name for entry in os.scandir(repository) if entry.name.startswith(".") and is_stale_temp(entry.name)]
    except OSError:
        return
    for name in stale:
        model = name[1:name.rindex(".tmp-")]
        if model.endswith(RETIRED) and MODEL_NAME.fullmatch(model.removesuffix(RETIRED)):
            target = repository / model.removesuffix(RETIRED)
            if not target.exists():
                try:
                    os.replace(repository / name, target)
                except OSError:  # a deploy of that model put one there meanwhile: keep both
                    pass
                continue
        shutil.rmtree(repository / name, ignore_errors=True)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """A new file created with ``mode``: open's mode is cut by the umask, never widened by it."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as handle:
        handle.write(data)


def _is_sklearn(model: Any) -> bool:
    try:
        from sklearn.base import BaseEstimator
    except ImportError:
        return False
    return isinstance(model, BaseEstimator)
