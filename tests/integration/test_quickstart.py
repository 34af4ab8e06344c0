"""End to end: deploy `local`, run the quickstart, query the model, destroy; nothing left."""

import json
import urllib.request

import pytest

from tests.conftest import servers_under
from zenprovision.errors import ModelServerError
from zenprovision.runtime import flavors
from zenprovision.stacks import store

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # real local stacks, through the CLI

EXAMPLE = "examples/quickstart.py"


def infer(url, row):
    body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": row}]}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["outputs"][0]["data"]


def test_quickstart_on_the_local_stack(home, cli):
    assert cli("recipe", "local", "--stack", "dev", "--yes").code == 0
    result = cli("run", EXAMPLE, "--stack", "dev", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["status"] == "succeeded"
    assert summary["metadata"]["accuracy"] > 0.8
    assert summary["metadata"]["prediction"] == summary["metadata"]["expected"]

    models = json.loads(cli("models", "--stack", "dev", "--json").out)
    assert [(m["name"], m["state"]) for m in models] == [("iris", "READY")]
    assert infer(models[0]["infer_url"], [6.7, 3.0, 5.2, 2.3]) == [2]  # a virginica
    assert "iris" in cli("models", "--stack", "dev").out

    for proc in servers_under(home):  # a crash or a reboot: the next deploy restarts it in place
        proc.kill()
        proc.wait(10)
    healed = cli("recipe", "local", "--stack", "dev", "--yes")
    assert healed.code == 0 and "model-server updated" in healed.err
    models = json.loads(cli("models", "--stack", "dev", "--json").out)
    assert [(m["name"], m["state"]) for m in models] == [("iris", "READY")]  # the repository survived
    assert infer(models[0]["infer_url"], [6.7, 3.0, 5.2, 2.3]) == [2]

    again = json.loads(cli("run", EXAMPLE, "--stack", "dev", "--json").out)
    assert again["steps"]["train"] == "cached" and again["steps"]["deploy_model"] == "succeeded"

    assert cli("destroy", "dev", "--yes").code == 0
    assert servers_under(home) == [] and not (home / "local" / "dev").exists()


def test_model_that_fails_to_load_is_a_clear_error(home, cli, tmp_path):
    assert cli("recipe", "local", "--stack", "dev", "--yes").code == 0
    server = flavors.build("model_server", "mlserver", store.load("dev").components.model_server.config)
    pipeline_file = tmp_path / "custom.py"
    pipeline_file.write_text(
        "from sklearn.linear_model import LogisticRegression\n"
        "from zenprovision import deploy_model, pipeline, step\n"
        "class Mine(LogisticRegression):\n    pass\n"
        "@step\ndef train():\n    return Mine().fit([[0.0], [1.0]], [0, 1])\n"
        "@pipeline\ndef custom():\n    deploy_model(train(), name='mine')\n"
    )
    result = cli("run", str(pipeline_file), "--stack", "dev")
    assert result.code == 1
    assert "failed to load model 'mine'" in result.err
    assert [m["name"] for m in server.models() if m["state"] == "READY"] == []
    assert not (home / "local" / "dev" / "mlserver" / "models" / "mine").exists()
    with pytest.raises(ModelServerError, match="refused"):
        server.predict("mine", [[0.0]])
    assert cli("destroy", "dev", "--yes").code == 0
