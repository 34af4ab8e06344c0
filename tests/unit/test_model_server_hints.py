"""A model server that does not answer names the commands for its own stack, wherever it is asked."""

import socket
from datetime import datetime, timezone

from zenprovision.runtime.context import StepContext
from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig


def _stack(endpoint: str, folder: str) -> StackConfig:
    return StackConfig(name="feat-x", recipe="local", engine="embedded", created_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                       components={"artifact_store": {"flavor": "local", "config": {"path": f"file://{folder}"}},
                                   "orchestrator": {"flavor": "local", "config": {}},
                                   "model_server": {"flavor": "mlserver", "config": {
                                       "endpoint": endpoint, "model_repository": folder}}})


def test_provision_models_on_a_stopped_server_names_the_stack_and_its_recipe(home, cli, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        store.save(_stack(f"http://127.0.0.1:{sock.getsockname()[1]}", str(tmp_path)))
        result = cli("models", "--stack", "feat-x")
    assert result.code == 1 and "is unreachable" in result.err, result.err
    assert "`provision refresh feat-x`" in result.err and "`provision recipe local --stack feat-x`" in result.err
    assert "STACK" not in result.err


def test_a_steps_model_server_knows_its_stack():
    doc = _stack("http://127.0.0.1:9", "/nowhere").to_document()
    served = StepContext(run_id="r", node_id="n", stack=doc, artifact_store=None).model_server
    assert (served.stack, served.recipe) == ("feat-x", "local")
