"""The `local` stack for real: MLServer process, folders, drift, destroy."""

import json
import urllib.request

import psutil
import pytest
import yaml

from tests.conftest import servers_under
from zenprovision.stacks import store

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # real local stacks, through the CLI


def ready(endpoint):
    with urllib.request.urlopen(f"{endpoint}/v2/health/ready", timeout=5) as response:
        return response.status == 200


def test_deploy_redeploy_refresh_destroy(home, cli):
    result = cli("recipe", "local", "--stack", "dev", "--yes")
    assert result.code == 0, result.err
    config = store.load("dev")
    endpoint = config.components.model_server.config["endpoint"]
    assert endpoint.startswith("http://127.0.0.1:") and ready(endpoint)
    artifacts = config.components.artifact_store.config["path"]
    assert artifacts == (home / "local" / "dev" / "artifacts").as_uri()
    assert config.components.orchestrator.config == {"workers": 2}
    assert config.labels.env == "dev"
    assert len(servers_under(home)) == 1

    listed = json.loads(cli("stacks", "--json").out)
    assert [s["name"] for s in listed] == ["dev"]
    assert yaml.safe_load(cli("output", "dev").out) == config.to_document()
    assert json.loads(cli("output", "dev", "--format", "json").out)["name"] == "dev"

    again = cli("recipe", "local", "--stack", "dev", "--yes")
    assert again.code == 0 and "No changes" in again.err
    assert store.load("dev").components.model_server.config["endpoint"] == endpoint

    assert "No drift" in cli("refresh", "dev").out
    for proc in servers_under(home):
        proc.kill()
        proc.wait(10)
    drift = cli("refresh", "dev")
    assert "model-server: gone" in drift.out
    healed = cli("recipe", "local", "--stack", "dev", "--yes")
    assert healed.code == 0, healed.err
    assert ready(store.load("dev").components.model_server.config["endpoint"])

    gone = cli("destroy", "dev", "--yes")
    assert gone.code == 0, gone.err
    assert servers_under(home) == []
    assert not (home / "local" / "dev").exists()
    assert not store.exists("dev") and json.loads(cli("stacks", "--json").out) == []


def test_update_in_place_keeps_the_server(home, cli):
    assert cli("recipe", "local", "--stack", "dev", "--yes").code == 0
    pid = servers_under(home)[0].pid
    result = cli("recipe", "local", "--stack", "dev", "-c", "workers=4", "--yes")
    assert result.code == 0 and "orchestrator" in result.err
    assert store.load("dev").components.orchestrator.config == {"workers": 4}
    assert [p.pid for p in servers_under(home)] == [pid]
    assert cli("destroy", "dev", "--yes").code == 0


def test_destroy_refuses_to_drop_artifacts_without_force_destroy(home, cli):
    assert cli("recipe", "local", "--stack", "keep", "-c", "force_destroy=false", "--yes").code == 0
    artifact = home / "local" / "keep" / "artifacts" / "model.bin"
    artifact.write_bytes(b"precious")
    refused = cli("destroy", "keep", "--yes")
    assert refused.code == 1
    assert "force_destroy is false" in refused.err
    assert artifact.read_bytes() == b"precious"
    assert store.exists("keep")  # the record stays until the destroy succeeds
    artifact.unlink()
    assert cli("destroy", "keep", "--yes").code == 0
    assert not (home / "local" / "keep").exists() and servers_under(home) == []


def test_confirmation_is_asked_and_no_means_nothing(home, cli):
    declined = cli("recipe", "local", "--stack", "dev", input="n\n")
    assert declined.code == 1 and "Apply these changes" in declined.err
    assert not store.exists("dev") and not (home / "state" / "dev.json").exists()
    accepted = cli("recipe", "local", "--stack", "dev", input="y\n")
    assert accepted.code == 0, accepted.err
    assert cli("destroy", "dev", input="n\n").code == 1 and store.exists("dev")
    assert cli("destroy", "dev", input="y\n").code == 0
    assert servers_under(home) == []


def test_two_stacks_side_by_side(home, cli):
    assert cli("recipe", "local", "--stack", "one", "--yes").code == 0
    assert cli("recipe", "local", "--stack", "two", "--yes").code == 0
    endpoints = {store.load(s).components.model_server.config["endpoint"] for s in ("one", "two")}
    assert len(endpoints) == 2 and all(ready(e) for e in endpoints)
    wrong = cli("recipe", "files", "--stack", "one", "-c", "dir=/tmp/x", "--yes",
                env={"ZENPROVISION_RECIPES_PATH": "tests/fixtures/recipes"})
    assert wrong.code == 2 and "was deployed from recipe 'local'" in wrong.err
    assert cli("destroy", "one", "--yes").code == 0
    assert cli("destroy", "two", "--yes").code == 0
    assert not any(psutil.pid_exists(p.pid) for p in servers_under(home))


def test_doctor_exercises_every_component(home, cli):
    assert cli("recipe", "local", "--stack", "doc", "--yes").code == 0
    healthy = cli("doctor", "doc", "--json")
    assert healthy.code == 0, healthy.err
    checks = {c["name"]: c for c in json.loads(healthy.out)}
    assert set(checks) == {"artifact store", "orchestrator", "model server", "container registry", "drift"}
    assert all(c["ok"] for c in checks.values())
    assert "write, read, delete" in checks["artifact store"]["detail"]
    assert not list((home / "local" / "doc" / "artifacts").rglob("*"))  # the probe cleaned up
    for proc in servers_under(home):
        proc.kill()
        proc.wait(10)
    sick = cli("doctor", "doc")
    assert sick.code == 1
    assert "✗ model server" in sick.out and "Connection refused" in sick.out
    assert "✓ artifact store" in sick.out
    assert cli("destroy", "doc", "--yes").code == 0
