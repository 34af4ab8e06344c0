"""The real CLI on a shared home in a moto bucket: what goes where, and a second machine's view."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import FIXTURE_RECIPES


@pytest.fixture
def recipes(monkeypatch):
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(FIXTURE_RECIPES))


def test_a_deploy_writes_the_shared_records_to_the_bucket_and_another_machine_uses_them(
        team_home, recipes, cli, tmp_path):
    deployed = cli("recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 'files'}", "--yes")
    assert deployed.code == 0, deployed.err
    assert f"{team_home.url}/stacks/s1.yaml" in deployed.err
    assert team_home.keys() == ["registry/s1.json", "stacks/s1.yaml", "state/s1.json"]
    left_here = {p.relative_to(team_home.local).parts[0] for p in team_home.local.rglob("*")}
    assert not left_here & {"stacks", "registry", "state", "s3:"}
    other = team_home.machine("desktop")
    listed = json.loads(cli("stacks", "--json", env=other).out)
    assert [(row["name"], row["status"], row["last_operation"]) for row in listed] == [("s1", "active", "deploy")]
    assert yaml.safe_load(cli("output", "s1", env=other).out)["name"] == "s1"
    destroyed = cli("destroy", "s1", "--yes", env=other)
    assert destroyed.code == 0, destroyed.err
    assert not (tmp_path / "files" / "a").exists()
    assert [k.split("/")[0] for k in team_home.keys()] == ["history"]
    shown = cli("stacks", "history", "s1", "--json")
    assert shown.code == 0, shown.err
    operations = json.loads(shown.out)
    assert [(o["op"], o["result"]) for o in operations] == [("deploy", "succeeded"), ("destroy", "succeeded")]
    assert operations[0]["command"] == "recipe" and operations[1]["command"] == "destroy"
