"""The real CLI on a shared home in a moto bucket: what goes where, and a second machine's view."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import FIXTURE_RECIPES, servers_under


@pytest.fixture
def recipes(monkeypatch):
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(FIXTURE_RECIPES))


def test_a_deploy_writes_the_shared_records_to_the_bucket_and_another_machine_uses_them(
        team_home, recipes, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    deployed = cli("recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 'files'}", "--yes")
    assert deployed.code == 0, deployed.err
    assert f"{team_home.url}/stacks/s1.yaml" in deployed.err
    assert team_home.keys() == ["registry/s1.json", "stacks/s1.yaml", "state/s1.json"]
    left_here = {p.relative_to(team_home.local).parts[0] for p in team_home.local.rglob("*")}
    assert not left_here & {"stacks", "registry", "state", "s3:"} and not (tmp_path / "s3:").exists()
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


def test_the_home_flag_and_the_home_setting_name_the_same_shared_home(team_home, recipes, cli, tmp_path,
                                                                      monkeypatch):
    monkeypatch.delenv("ZENPROVISION_HOME")
    flagged = cli("--home", team_home.url, "recipe", "files", "--stack", "s2", "-c", f"dir={tmp_path / 'f'}", "--yes")
    assert flagged.code == 0, flagged.err  # the engine's runner process got the home too: its state is there
    assert team_home.keys() == ["registry/s2.json", "stacks/s2.yaml", "state/s2.json"]
    assert "No stacks" in cli("stacks").err  # without the flag: this machine's own folder
    team_home.local.mkdir(parents=True, exist_ok=True)
    (team_home.local / "settings.yaml").write_text(f"default_ttl:\n  dev: 3d\nhome: {team_home.url}\n")
    assert [row["name"] for row in json.loads(cli("stacks", "--json").out)] == ["s2"]
    shown = json.loads(cli("home", "show", "--json").out)
    assert shown == {"home": team_home.url, "from": f"{team_home.local / 'settings.yaml'}: home",
                     "local": str(team_home.local), "pulumi_backend": f"{team_home.url}/pulumi"}


@pytest.mark.integration
@pytest.mark.slow
def test_the_local_recipe_on_a_bucket_home_keeps_its_data_on_this_machine(team_home, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        deployed = cli("recipe", "local", "--stack", "dev", "--yes")
        assert deployed.code == 0, deployed.err
        assert team_home.keys() == ["registry/dev.json", "stacks/dev.yaml", "state/dev.json"]
        config = yaml.safe_load(team_home.read("stacks/dev.yaml"))
        assert config["components"]["artifact_store"]["config"]["path"] == (
            team_home.local / "local" / "dev" / "artifacts").as_uri()
        assert not any((team_home.local / name).exists() for name in ("stacks", "registry", "state"))
        assert len(servers_under(team_home.local)) == 1 and not (tmp_path / "s3:").exists()
        destroyed = cli("destroy", "dev", "--yes")
        assert destroyed.code == 0, destroyed.err
        assert servers_under(team_home.local) == [] and not (team_home.local / "local" / "dev").exists()
        assert [key.split("/")[0] for key in team_home.keys()] == ["history"]
    finally:
        for process in servers_under(team_home.local):
            process.kill()
