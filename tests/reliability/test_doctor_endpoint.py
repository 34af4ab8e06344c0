"""Doctor probes the endpoint the stack config names, not one the resolver wraps it to (item 4)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.runtime.conftest import make_stack
from zenprovision.runtime import doctor
from zenprovision.runtime.doctor import run_checks


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server hook
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def healthy_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def model_server_check(home, endpoint: str):
    config = make_stack("doc", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}},
                        model_server={"flavor": "mlserver",
                                      "config": {"endpoint": endpoint, "model_repository": str(home / "models")}})
    checks = run_checks(config, lambda: {})
    return next(c for c in checks if c.name == "model server")


def test_a_port_that_cannot_exist_fails_doctor_even_if_it_wraps_onto_a_live_server(home, healthy_port):
    assert model_server_check(home, f"http://127.0.0.1:{healthy_port}").ok
    wrapped = model_server_check(home, f"http://127.0.0.1:{healthy_port + 65536}")
    assert not wrapped.ok
    assert "port of 1-65535" in wrapped.detail


def test_a_port_nothing_listens_on_fails_doctor(home, healthy_port):
    check = model_server_check(home, "http://127.0.0.1:9")
    assert not check.ok and "refused" in check.detail.lower()


def test_a_scheduler_address_that_cannot_exist_fails_doctor(home):
    config = make_stack("doc", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    doc = config.to_document()
    doc["components"]["orchestrator"] = {"flavor": "dask", "config": {"scheduler_address": "tcp://127.0.0.1:99999"}}
    with pytest.raises(RuntimeError, match="port of 1-65535"):
        doctor._orchestrator(doc)
