"""With a bucket home, the pulumi engine's state goes to the same bucket, under the team's passphrase."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from zenprovision.engines.pulumi_cli import PulumiEngine, passphrase, paths, records, session
from zenprovision.errors import InputError

FAKE = Path(__file__).parents[1] / "fake_pulumi.py"


@pytest.fixture
def no_passphrase(monkeypatch):
    monkeypatch.delenv(passphrase.PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv(passphrase.PASSPHRASE_FILE_ENV, raising=False)


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch) -> Path:
    state = tmp_path / "fake-pulumi"
    state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    (bin_dir / "pulumi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state))
    return state


def test_the_backend_defaults_to_the_homes_pulumi_folder(team_home, monkeypatch, fake_pulumi, tmp_path):
    monkeypatch.setenv(passphrase.PASSPHRASE_ENV, "the team's")
    monkeypatch.delenv("ZENPROVISION_BACKEND", raising=False)
    engine = PulumiEngine()
    assert engine.backend == f"{team_home.url}/pulumi"
    assert PulumiEngine(backend="s3://elsewhere/state").backend == "s3://elsewhere/state"
    (tmp_path / "project").mkdir()
    stack, created = session.open_stack(session.Target("dev", tmp_path / "project", engine.backend), create=True)
    calls = [json.loads(line) for line in (fake_pulumi / "argv.jsonl").read_text().splitlines()]
    envs = [json.loads(line) for call, line in zip(calls, (fake_pulumi / "env.jsonl").read_text().splitlines(),
                                                   strict=True) if call != ["version"]]  # the SDK's own check
    assert created and ["--non-interactive", "stack", "init", "dev", "--secrets-provider", "passphrase"] in calls
    assert {e["backend"] for e in envs} == {f"{team_home.url}/pulumi"}
    assert {tuple(e["passphrase"]) for e in envs} == {(passphrase.PASSPHRASE_ENV,)}  # the user's, nothing generated
    assert not paths.passphrase_file().exists()


def test_a_shared_backend_without_the_teams_passphrase_is_refused(team_home, no_passphrase, monkeypatch):
    monkeypatch.delenv("ZENPROVISION_BACKEND", raising=False)
    with pytest.raises(InputError) as caught:
        PulumiEngine()
    assert caught.value.exit_code == 2 and "team's passphrase" in caught.value.message
    assert "export" not in caught.value.hint  # no generated one to point at
    passphrase.ensure_passphrase_file(paths.passphrase_file())
    with pytest.raises(InputError) as caught:
        session.workspace_env("gs://team/state")
    assert f"{passphrase.PASSPHRASE_FILE_ENV}={paths.passphrase_file()}" in caught.value.hint
    assert session.workspace_env(f"file://{team_home.local}/state")[passphrase.PASSPHRASE_FILE_ENV]


def test_the_cli_refuses_before_anything_is_written(team_home, no_passphrase, fake_pulumi, cli, monkeypatch):
    monkeypatch.delenv("ZENPROVISION_BACKEND", raising=False)
    result = cli("recipe", "aws-k8s", "--stack", "dev", "--yes")
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1 and "PULUMI_CONFIG_PASSPHRASE" in result.err
    assert team_home.keys() == [] and not (fake_pulumi / "argv.jsonl").exists()


def test_another_machine_finds_a_pulumi_stack_deployed_elsewhere(team_home, monkeypatch, tmp_path):
    monkeypatch.setenv(passphrase.PASSPHRASE_ENV, "the team's")
    gone = tmp_path / "deployers-laptop"  # paths only the deploying machine had
    records.save(records.StackRecord(stack="dev", recipe="aws-k8s", recipe_path=str(gone / "recipes" / "aws-k8s"),
                                     project="aws-k8s", backend=f"{team_home.url}/pulumi",
                                     work_dir=str(gone / "pulumi" / "work" / "dev")))
    assert "pulumi/stacks/dev.json" in team_home.keys()
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "ci-runner"))
    engine = PulumiEngine()
    assert engine.has_state("dev")
    target = engine._target(records.load("dev"))
    assert target.work_dir == tmp_path / "ci-runner" / "pulumi" / "work" / "dev"
    assert (target.work_dir / "Pulumi.yaml").is_file() and target.backend == f"{team_home.url}/pulumi"
