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


@pytest.mark.parametrize("name", ["aws-k8s", "gcp-k8s"])
def test_the_lazy_sdk_loader_plans_exactly_what_eager_imports_plan(home, name, monkeypatch):
    """Same resources, inputs, outputs and policy findings with and without ``lazy_sdk``."""
    from zenprovision.engines.base import DeployRequest
    from zenprovision.engines.embedded.engine import EmbeddedEngine
    from zenprovision.recipes.catalog import Catalog
    from zenprovision.recipes.schema import resolve

    recipe = Catalog().get(name)
    config = resolve(recipe.config, dict(recipe.test_config), recipe.name)
    request = DeployRequest(recipe, "dev", config, {"stack": "dev", "recipe": name, "env": "prod", "owner": "me"})
    plans = {}
    for eager in ("1", "0"):
        monkeypatch.setenv("ZENPROVISION_EAGER_SDK", eager)
        plan = EmbeddedEngine().plan(request)
        plans[eager] = (sorted((c.to_dict() for c in plan.changes), key=lambda c: c["urn"]), plan.outputs,
                        sorted(plan.policy, key=lambda p: (p["policy"], p["urn"])))
    assert len(plans["0"][0]) >= 18
    assert plans["0"] == plans["1"]
