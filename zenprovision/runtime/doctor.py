"""``provision doctor``: exercise every component of a deployed stack, one timed check each."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zenprovision.runtime import flavors
from zenprovision.runtime.execution import artifact_store_for
from zenprovision.runtime.model_servers import for_stack
from zenprovision.stacks.config import StackConfig


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    seconds: float
    detail: str


def _timed(name: str, probe: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()
        return Check(name, True, time.perf_counter() - started, detail)
    except Exception as exc:  # every failure is a finding, reported with its reason
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return Check(name, False, time.perf_counter() - started, message)


def _artifact_store(doc: dict[str, Any]) -> str:
    store = artifact_store_for(doc)
    path = f".zenprovision-doctor-{uuid.uuid4().hex}"  # no folder: a local store would keep it
    payload = os.urandom(64)
    store.write_bytes(path, payload)
    if store.read_bytes(path) != payload:
        raise RuntimeError("read back different bytes than were written")
    store.delete(path)
    if store.exists(path):
        raise RuntimeError("the probe artifact is still there after delete")
    return f"write, read, delete at {store.endpoint}"


def checked_endpoint(url: str, schemes: tuple[str, ...]) -> str:
    """``url`` if it can name a server at all: a known scheme, a host and a port of 1-65535.

    The system resolver would quietly wrap a port such as 70000 onto another one (70000 -
    65536 = 4464), so a probe could pass against a server the config does not name.
    """
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port if parts.port is not None or parts.scheme in ("http", "https") else 0
    except ValueError:  # out of range
        port = 0
    if parts.scheme not in schemes or not parts.hostname or port == 0:
        raise RuntimeError(f"{url!r} is not a usable {'/'.join(schemes)} endpoint (a host and a port of 1-65535)")
    return url.rstrip("/")


def _orchestrator(doc: dict[str, Any]) -> str:
    component = doc["components"]["orchestrator"]
    if "scheduler_address" in component.get("config", {}):
        checked_endpoint(str(component["config"]["scheduler_address"]), ("tcp", "tls"))
    return flavors.build("orchestrator", component["flavor"], component.get("config", {})).probe()


def _http(url: str, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _model_server(doc: dict[str, Any]) -> str:
    component = doc["components"]["model_server"]
    server = for_stack(doc)
    if hasattr(server, "probe"):
        return server.probe()
    endpoint = checked_endpoint(str(component["config"]["endpoint"]), ("http", "https"))
    for path in ("/v2/health/live", "/v2/health/ready"):
        status = _http(endpoint + path)
        if status != 200:
            raise RuntimeError(f"{endpoint}{path} answered {status}")
    return f"live and ready at {endpoint}"


def _container_registry(doc: dict[str, Any]) -> str:
    component = doc["components"].get("container_registry")
    if component is None:
        return "none in this stack"
    host = str(component["config"]["uri"]).split("/")[0]
    status = _http(f"https://{host}/v2/")
    if status not in (200, 401):  # 401: reachable, wants credentials, as a registry should
        raise RuntimeError(f"https://{host}/v2/ answered {status}")
    return f"{host} answers the registry API"


def _drift(config: StackConfig, outputs: Callable[[], dict[str, Any]]) -> str:
    exported = outputs().get("stack")
    current = config.components.model_dump(exclude_none=True)
    if exported != current:
        raise RuntimeError("the stack config differs from the engine's `stack` output; redeploy to rewrite it")
    return "stack config matches the engine's outputs"


def run_checks(config: StackConfig, engine_outputs: Callable[[], dict[str, Any]]) -> list[Check]:
    doc = config.to_document()
    return [
        _timed("artifact store", lambda: _artifact_store(doc)),
        _timed("orchestrator", lambda: _orchestrator(doc)),
        _timed("model server", lambda: _model_server(doc)),
        _timed("container registry", lambda: _container_registry(doc)),
        _timed("drift", lambda: _drift(config, engine_outputs)),
    ]
