"""``provision output STACK KEY`` and ``--plan RECIPE``: Terraform-like outputs, also before apply."""

import json

import pytest
import yaml

from tests.unit.test_exports import AWS
from zenprovision.stacks import exports, paths, store


def test_one_value_prints_raw_for_scripts(home, cli):
    store.save(AWS)
    assert cli("output", "dev", "artifact_store.config.bucket").out == "zp-dev-artifacts\n"
    assert cli("output", "dev", "labels.env").out == "dev\n"
    assert json.loads(cli("output", "dev", "orchestrator.config").out)["namespace"] == "zenprovision"
    assert cli("output", "dev", "artifact_store.config.bucket", "--format", "json").out == '"zp-dev-artifacts"\n'


def test_an_unknown_key_is_one_line_and_exit_2(home, cli):
    store.save(AWS)
    result = cli("output", "dev", "artifact_store.config.bukket")
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    assert "no key 'artifact_store.config.bukket'" in result.err and "artifact_store.config.bucket" in result.err


def test_a_key_with_an_export_format_is_bad_usage(home, cli):
    store.save(AWS)
    result = cli("output", "dev", "artifact_store.config.bucket", "--format", "env")
    assert result.code == 2 and result.out == ""


@pytest.mark.parametrize("key, value", [("artifact_store.config.bucket", "zp-dev-artifacts"),
                                        ("components.artifact_store.flavor", "s3"), ("name", "dev"),
                                        ("labels.owner", "")])
def test_lookup_starts_at_a_component_or_the_document(key, value):
    assert paths.lookup(AWS, key) == value


def test_keys_list_every_leaf_components_first():
    keys = paths.keys(AWS)
    assert keys[0] == "artifact_store.flavor"
    assert {"artifact_store.config.bucket", "orchestrator.config.kubeconfig_path", "labels.env", "name"} <= set(keys)
    assert all(paths.lookup(AWS, key) is not None for key in keys)


def test_output_of_a_plan_builds_the_stack_config_without_deploying(home, cli, fixture_recipes):
    planned = cli("output", "c", "--plan", "cloudish", "-c", "bucket_name=mine")
    assert planned.code == 0, planned.err
    document = yaml.safe_load(planned.out)
    assert (document["name"], document["recipe"]) == ("c", "cloudish")
    assert document["components"]["artifact_store"]["flavor"] == "s3"
    one = cli("output", "c", "artifact_store.flavor", "--plan", "cloudish", "-c", "bucket_name=mine")
    assert one.out == "s3\n"
    assert not store.exists("c")  # a plan deploys nothing


def test_config_values_need_plan(home, cli):
    store.save(AWS)
    assert cli("output", "dev", "-c", "region=x").code == 2


def test_aws_k8s_offline_plan_json_and_output_carry_the_stack_with_unknowns(home, cli):
    """The issue's case: inspect and export a cloud stack before anyone pays for it."""
    plan = cli("plan", "aws-k8s", "--stack", "dev", "--offline", "--json")
    assert plan.code == 0, plan.err
    stack = json.loads(plan.out)["outputs"]["stack"]
    assert stack["artifact_store"]["config"]["bucket"] == exports.UNKNOWN
    assert stack["orchestrator"]["config"]["cluster_name"] == "zp-dev-eks"
    env = cli("output", "dev", "--plan", "aws-k8s", "--format", "env")
    assert env.code == 0, env.err
    assert f"export ZENPROVISION_ARTIFACT_URI='{exports.UNKNOWN}'" in env.out
    assert "export AWS_DEFAULT_REGION=us-east-1" in env.out
    assert "known only after apply" in env.err and "artifact_store.config.bucket" in env.err
