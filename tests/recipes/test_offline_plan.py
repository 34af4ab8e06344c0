"""`provision plan <cloud recipe> --offline`: no CLI, no credentials, grouped by component."""

import json

import pytest


@pytest.mark.parametrize("recipe, args, components", [
    ("aws-k8s", [], ["network", "artifacts", "registry", "eks", "steps", "pipelines", "kserve"]),
    ("gcp-k8s", ["-c", "project=acme-ml"], ["artifacts", "registry", "gke", "steps", "pipelines", "kserve"]),
])
def test_offline_plan_lists_every_resource_grouped(home, cli, recipe, args, components, monkeypatch):
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(variable, raising=False)
    result = cli("plan", recipe, "--stack", "dev", "--offline", *args)
    assert result.code == 0, result.err
    for component in components:
        assert f"\n  {component}\n" in result.out, component
    as_json = json.loads(cli("plan", recipe, "--stack", "dev", "--offline", "--json", *args).out)
    creates = [c for c in as_json["changes"] if c["custom"] and c["op"] == "create"]
    assert len(creates) == as_json["counts"]["create"] >= 18
    assert all(c["type"] and c["name"] for c in creates)
    assert not (home / "state").exists() and not (home / "stacks").exists()


def test_offline_plan_checks_config_first(home, cli):
    result = cli("plan", "gcp-k8s", "--stack", "dev", "--offline")
    assert result.code == 2 and "needs config key 'project'" in result.err
    result = cli("plan", "aws-k8s", "--stack", "dev", "--offline", "-c", "node_min_size=few")
    assert result.code == 2 and "must be integer" in result.err
