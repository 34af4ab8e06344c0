"""`provision kubeconfig STACK`: the cluster's kubeconfig, printed or written 0600.

The real command runs in its own process against the pulumi engine, whose Automation API
talks to a stand-in `pulumi` (tests/fake_pulumi.py) holding the stack's outputs.
"""

from __future__ import annotations

import json
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from zenprovision.engines.pulumi_cli import records
from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig

REPO = Path(__file__).resolve().parents[2]
KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "zp-dev-eks",
                         "users": [{"name": "zp-dev-eks", "user": {"exec": {"command": "aws"}}}]})


def save_stack(name: str, orchestrator: dict, engine: str = "pulumi") -> None:
    store.save(StackConfig(name=name, recipe="aws-k8s", engine=engine, created_at=datetime.now(timezone.utc),
                           components={"artifact_store": {"flavor": "s3", "config": {"bucket": "b"}},
                                       "orchestrator": orchestrator,
                                       "model_server": {"flavor": "kserve", "config": {}}}))


@pytest.fixture
def deployed(home, tmp_path, monkeypatch):
    """Stack `dev` as an up of aws-k8s leaves it: config, engine record, state with a secret output."""
    state = tmp_path / "fake-pulumi"
    state.mkdir()
    (state / "dev.json").write_text("{}")
    (state / "dev.outputs.json").write_text(json.dumps({"kubeconfig": {"value": KUBECONFIG, "secret": True}}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "tests" / "fake_pulumi.py"}" "$@"\n')
    (bin_dir / "pulumi").chmod(0o755)
    save_stack("dev", {"flavor": "kubernetes", "config": {"namespace": "zenprovision", "kubeconfig": "pulumi:kubeconfig"}})
    records.save(records.StackRecord(stack="dev", recipe="aws-k8s", recipe_path=str(REPO / "stack_recipes" / "aws-k8s"),
                                     project="aws-k8s", backend=f"file://{home}/pulumi/state",
                                     work_dir=str(home / "pulumi" / "work" / "dev")))
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_PULUMI_STATE": str(state), "ZENPROVISION_HOME": str(home),
            "PULUMI_CONFIG_PASSPHRASE": "test"}


def test_writes_the_kubeconfig_readable_by_its_owner_only(cli, deployed, tmp_path):
    target = tmp_path / "out" / "kubeconfig"
    target.parent.mkdir()
    target.write_text("old, world readable")
    target.chmod(0o644)
    result = cli("kubeconfig", "dev", "-o", str(target), env=deployed)
    assert result.code == 0, result.err
    assert target.read_text() == KUBECONFIG + "\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert f"export KUBECONFIG={target}" in result.err and KUBECONFIG not in result.out


def test_prints_the_kubeconfig(cli, deployed):
    result = cli("kubeconfig", "dev", env=deployed)
    assert result.code == 0, result.err
    assert json.loads(result.out) == json.loads(KUBECONFIG)


def test_a_stack_without_a_cluster_is_one_line_and_exit_2(cli, deployed, tmp_path):
    save_stack("laptop", {"flavor": "local", "config": {"workers": 2}}, engine="embedded")
    target = tmp_path / "kubeconfig"
    result = cli("kubeconfig", "laptop", "-o", str(target), env=deployed)
    assert result.code == 2
    assert "stack 'laptop' has no Kubernetes cluster" in result.err and len(result.err.strip().splitlines()) <= 2
    assert not target.exists()
    missing = cli("kubeconfig", "nope", env=deployed)
    assert missing.code == 2 and "no stack named 'nope'" in missing.err


def test_env_export_points_kubectl_at_the_written_file(cli, deployed, tmp_path):
    before = cli("output", "dev", "--format", "env", env=deployed)
    assert before.code == 0, before.err
    assert "export KUBECONFIG=" not in before.out
    target = tmp_path / "kube" / "zp-dev"
    target.parent.mkdir()
    assert cli("kubeconfig", "dev", "-o", str(target), env=deployed).code == 0
    after = cli("output", "dev", "--format", "env", env=deployed).out
    assert f"export KUBECONFIG={target}" in after
    target.unlink()  # a file that is gone is not exported
    assert f"KUBECONFIG={target}" not in cli("output", "dev", "--format", "env", env=deployed).out
