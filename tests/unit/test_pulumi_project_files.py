"""Project files and stack config as the Pulumi CLI judges them.

Every recipe's Pulumi.yaml, and what `provision new` generates, is checked against Pulumi's
published project schema and the rules of its project.go; the config zenprovision hands to
the CLI is recorded through a stand-in `pulumi` that knows the CLI's documented flags and
stores values as the CLI does, then checked with the CLI's own stack-config rule.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from tests.pulumi_project_rules import config_value_ok, project_errors, stack_config_errors
from zenprovision.authoring import generate
from zenprovision.engines.pulumi_cli import config, passphrase, session
from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import resolve

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted(p.parent for p in (REPO / "stack_recipes").glob("*/Pulumi.yaml"))
FAKE_CLI = REPO / "tests" / "fake_pulumi.py"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("folder", RECIPES, ids=[p.name for p in RECIPES])
def test_every_recipe_project_file_passes_pulumis_schema_and_rules(folder):
    assert project_errors(load(folder / "Pulumi.yaml")) == []


@pytest.mark.parametrize("cloud", ["aws", "gcp", "local"])
def test_generated_project_files_pass_pulumis_schema_and_rules(home, tmp_path, cloud):
    created = generate(f"team-{cloud}", cloud, (), tmp_path, force=False)
    assert project_errors(load(created / "Pulumi.yaml")) == []


def test_the_rules_catch_what_the_cli_refuses():
    array_without_items = {"name": "p", "config": {"zones": {"type": "array", "default": []}}}
    assert "does not specify the underlying type" in project_errors(array_without_items)[0]
    wrong_default = {"name": "p", "config": {"n": {"type": "integer", "default": "many"}}}
    assert "not of the expected type" in project_errors(wrong_default)[0]
    unknown_type = {"name": "p", "config": {"ratio": {"type": "number", "default": 1}}}
    assert project_errors(unknown_type)  # not a type Pulumi's schema knows
    stray_attribute = {"name": "p", "config": {"x": {"type": "string", "default": "", "descripton": "typo"}}}
    assert project_errors(stray_attribute)
    assert config_value_ok("array", {"type": "string"}, ["a"]) and not config_value_ok("array", {"type": "string"}, "[]")
    assert config_value_ok("integer", None, "4") and not config_value_ok("integer", None, True)


# ---- what the Automation API runs, through a CLI stand-in --------------------------------------

@pytest.fixture
def cli_log(tmp_path, monkeypatch):
    monkeypatch.delenv(passphrase.PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv(passphrase.PASSPHRASE_FILE_ENV, raising=False)
    state = tmp_path / "fake-pulumi"
    state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state))
    (tmp_path / "project").mkdir()
    return state


def calls(state: Path) -> list[list[str]]:
    return [json.loads(line) for line in (state / "argv.jsonl").read_text().splitlines()]


def deploy_config(home, tmp_path, recipe_name: str, given: dict[str, str]):
    recipe = Catalog().get(recipe_name)
    values = resolve(recipe.config, {**recipe.test_config, **given}, recipe.name)
    wanted = config.stack_settings(recipe.name, recipe.config, values, {"env": "dev", "owner": "ana"})
    target = session.Target("dev", tmp_path / "project", f"file://{home}/pulumi/state")
    stack, _ = session.open_stack(target, create=True)
    session.apply_config(stack, wanted, recipe.name)
    return recipe, wanted


@pytest.mark.parametrize("recipe_name, given", [
    ("aws-k8s", {"availability_zones": "eu-west-1a,eu-west-1b", "instance_types": "m6i.xlarge,m6i.2xlarge"}),
    ("aws-k8s", {}),  # empty arrays too
    ("gcp-k8s", {}),
    ("local", {}),
])
def test_stack_config_set_through_the_sdk_is_what_the_cli_accepts(home, tmp_path, cli_log, recipe_name, given):
    recipe, _ = deploy_config(home, tmp_path, recipe_name, given)
    stored = json.loads((cli_log / "dev.json").read_text())
    project = load(recipe.path / "Pulumi.yaml")
    assert stack_config_errors(project, "dev", stored) == []
    assert set(stored) >= {f"{recipe_name}:{key}" for key in recipe.config}
    for key, spec in project["config"].items():
        if spec["type"] == "array":
            assert stored[f"{recipe_name}:{key}"]["object"] is True


def test_the_exact_cli_invocations_use_only_documented_flags(home, tmp_path, cli_log):
    deploy_config(home, tmp_path, "aws-k8s", {"availability_zones": "eu-west-1a,eu-west-1b"})
    made = calls(cli_log)
    assert [argv[:3] for argv in made] == [
        ["version"],
        ["--non-interactive", "stack", "select"],
        ["--non-interactive", "stack", "init"],
        ["--non-interactive", "config", "--show-secrets"],
        ["--non-interactive", "config", "set-all"],
        ["--non-interactive", "config", "set-all"],
    ]
    plain, typed = made[4], made[5]
    assert "--json" not in plain and "--plaintext" in plain
    assert plain[plain.index("--plaintext") + 1].startswith("aws-k8s:")
    assert typed[3:5] == ["--stack", "dev"] and typed[5] == "--json" and len(typed) == 7
    sent = json.loads(typed[6])
    assert sent["aws-k8s:availability_zones"] == {
        "value": '["eu-west-1a", "eu-west-1b"]', "objectValue": ["eu-west-1a", "eu-west-1b"], "secret": False}
    assert all("objectValue" in entry for entry in sent.values())


def test_arrays_as_plain_text_are_refused_by_the_cli_rule(home, tmp_path, cli_log):
    """What zenprovision did before: the array's JSON text as a plain value."""
    recipe = Catalog().get("aws-k8s")
    target = session.Target("dev", tmp_path / "project", f"file://{home}/pulumi/state")
    stack, _ = session.open_stack(target, create=True)
    session.apply_config(stack, {"aws-k8s:instance_types": config.Setting('["m6i.large"]')}, "aws-k8s")
    stored = json.loads((cli_log / "dev.json").read_text())
    errors = stack_config_errors(load(recipe.path / "Pulumi.yaml"), "dev", stored)
    assert errors == ["Stack 'dev' with configuration key 'instance_types' must be of type 'array'"]


def test_the_stand_in_refuses_undocumented_flags(cli_log):
    import subprocess

    bad = subprocess.run([sys.executable, str(FAKE_CLI), "config", "set-all", "--stack", "dev", "--typed", "x"],
                         capture_output=True, text=True, env={**os.environ, "FAKE_PULUMI_STATE": str(cli_log)})
    assert bad.returncode == 255 and "unknown flag: --typed" in bad.stderr
    mixed = subprocess.run([sys.executable, str(FAKE_CLI), "stack", "init", "dev"], capture_output=True, text=True,
                           env={**os.environ, "FAKE_PULUMI_STATE": str(cli_log)})
    assert mixed.returncode == 0
    both = subprocess.run([sys.executable, str(FAKE_CLI), "config", "set-all", "--stack", "dev", "--json", "{}",
                           "--plaintext", "a:b=c"], capture_output=True, text=True,
                          env={**os.environ, "FAKE_PULUMI_STATE": str(cli_log)})
    assert both.returncode == 255 and "cannot be used with" in both.stderr
