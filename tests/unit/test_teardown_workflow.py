"""The ready-made GitHub Actions schedule (docs/schedules): valid, real command, OIDC only, no secret in it."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.provision_argv import parse_provision
from zenprovision.recipes.formats import is_cron

WORKFLOW = Path(__file__).parents[2] / "docs" / "schedules" / "teardown-github-actions.yml"
SECRET_NAMES = re.compile(r"passphrase|secret|token|password|credential|access.?key|private", re.IGNORECASE)
SECRET_REFERENCE = re.compile(r"\$\{\{\s*secrets\.[A-Z0-9_]+\s*\}\}")


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow):
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_runs_hourly_on_a_valid_cron_and_by_hand(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons and all(is_cron(cron, macros=False) for cron in crons)  # GitHub takes no @hourly
    assert "workflow_dispatch" in triggers


def test_two_runs_never_overlap(workflow):
    assert workflow["concurrency"]["group"] and workflow["concurrency"]["cancel-in-progress"] is False


def test_the_command_is_a_real_provision_teardown(workflow):
    commands = [shlex.split(line) for step in steps(workflow) for line in step.get("run", "").splitlines()
                if "provision " in line]
    assert len(commands) == 1
    argv = [Path(commands[0][0]).name, *commands[0][1:]]  # .venv/bin/provision -> provision
    name, params = parse_provision(argv)
    assert name == "teardown"
    assert (params["env"], params["expired"], params["yes"], params["dry_run"]) == ("dev", True, True, False)
    job = next(iter(workflow["jobs"].values()))
    assert job["env"]["ZENPROVISION_HOME"] == "${{ vars.ZENPROVISION_HOME }}"


def test_installs_zenprovision_from_the_lock(workflow):
    runs = "\n".join(step.get("run", "") for step in steps(workflow))
    assert "uv sync --locked" in runs


def test_cloud_credentials_come_from_oidc_not_stored_keys(workflow):
    assert workflow["permissions"]["id-token"] == "write"
    by_action = {step["uses"].split("@")[0]: step.get("with", {}) for step in steps(workflow) if "uses" in step}
    assert set(by_action["aws-actions/configure-aws-credentials"]) >= {"role-to-assume", "aws-region"}
    assert "workload_identity_provider" in by_action["google-github-actions/auth"]
    inputs = {key for given in by_action.values() for key in given}
    assert not inputs & {"aws-access-key-id", "aws-secret-access-key", "credentials_json"}


def _pairs(node, key=""):
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _pairs(value, str(name))
    elif isinstance(node, list):
        for value in node:
            yield from _pairs(value, key)
    else:
        yield key, node


def test_no_secret_is_inlined(workflow):
    text = WORKFLOW.read_text()
    assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN|\"private_key\"", text)
    for key, value in _pairs(workflow):
        if SECRET_NAMES.search(key) and key != "id-token":
            assert SECRET_REFERENCE.fullmatch(str(value)), f"{key} must come from ${{{{ secrets.* }}}}"
    secrets_used = set(re.findall(r"secrets\.([A-Z0-9_]+)", text))
    assert secrets_used == {"PULUMI_CONFIG_PASSPHRASE"}  # cloud access is OIDC: no stored credential
