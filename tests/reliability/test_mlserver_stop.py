"""The local stack's MLServer stops gracefully and then exits at once (issue 15, target 4).

``blocks.local.MLSERVER_MAIN`` runs ``mlserver start`` and ends with ``os._exit`` once it
returned: the interpreter's teardown took most of a destroy. What must still hold: its exit
status says how it ended, its output reaches the log, and the real MLServer has shut down
gracefully (its servers stopped) before the process is gone.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from zenprovision.blocks.local import MLSERVER_MAIN

FAKE_MAIN = """\
import atexit, logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
atexit.register(lambda: print("atexit ran", file=sys.stderr, flush=True))


class Freed:
    def __del__(self):  # runs when the interpreter frees this module's globals at teardown
        print("interpreter teardown ran", file=sys.stderr, flush=True)


kept = Freed()

def main():
    sys.stdout.write("served, not yet flushed")  # block-buffered: a file, not a terminal
    logging.getLogger("fake").info("logged")
    {ending}
"""


def run_with_fake(tmp_path: Path, ending: str) -> subprocess.CompletedProcess:
    package = tmp_path / "fake" / "mlserver" / "cli"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(FAKE_MAIN.format(ending=ending))
    with open(tmp_path / "out.log", "wb") as out, open(tmp_path / "err.log", "wb") as err:
        proc = subprocess.run([sys.executable, "-c", MLSERVER_MAIN, "start", str(tmp_path)], stdout=out, stderr=err,
                              env={"PYTHONPATH": str(tmp_path / "fake")}, timeout=60)
    proc.stdout = (tmp_path / "out.log").read_text()
    proc.stderr = (tmp_path / "err.log").read_text()
    return proc


@pytest.mark.parametrize(("ending", "code"), [
    ("return", 0),
    ("sys.exit(0)", 0),
    ("sys.exit()", 0),
    ("sys.exit(3)", 3),
])
def test_its_exit_status_is_the_servers_and_its_output_is_flushed_without_the_teardown(tmp_path, ending, code):
    proc = run_with_fake(tmp_path, ending)
    assert proc.returncode == code
    assert proc.stdout == "served, not yet flushed"
    assert "logged" in proc.stderr
    assert "atexit ran" in proc.stderr  # what an ordinary exit runs still runs
    assert "interpreter teardown ran" not in proc.stderr  # ended by os._exit: no teardown to wait for


def test_a_crash_exits_non_zero_with_its_traceback(tmp_path):
    proc = run_with_fake(tmp_path, "raise RuntimeError('model repository unreadable')")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError: model repository unreadable" in proc.stderr
    assert proc.stdout == "served, not yet flushed"


def test_an_exit_with_a_message_prints_it_and_exits_1(tmp_path):
    proc = run_with_fake(tmp_path, "sys.exit('settings.json: invalid port')")
    assert proc.returncode == 1
    assert "settings.json: invalid port" in proc.stderr


def test_an_interrupt_is_a_failure_not_a_clean_exit(tmp_path):
    proc = run_with_fake(tmp_path, "raise KeyboardInterrupt")
    assert proc.returncode == 1
    assert "KeyboardInterrupt" in proc.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_real_mlserver_shuts_down_gracefully_on_sigterm_and_exits_0(tmp_path):
    port = _free_port()
    (tmp_path / "models").mkdir()
    (tmp_path / "settings.json").write_text(json.dumps({
        "host": "127.0.0.1", "http_port": port, "grpc_port": _free_port(), "metrics_endpoint": None,
        "parallel_workers": 0, "model_repository_root": str(tmp_path / "models"), "load_models_at_startup": True}))
    with open(tmp_path / "mlserver.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", MLSERVER_MAIN, "start", str(tmp_path)], cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "mlserver.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "MLServer never became ready"
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (tmp_path / "mlserver.log").read_text()
    assert "gRPC server shutdown complete" in log and "Application shutdown complete" in log, log[-2000:]
