"""The prod guard reads labels as the clouds do: ``--env PROD`` or ``'prod '`` is refused when
given, and a record an older version wrote with such a label is still protected as prod."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from zenprovision import teardown as stacks_teardown  # not `teardown`: pytest would collect it
from zenprovision.errors import InputError
from zenprovision.lifecycle import _labels
from zenprovision.stacks import store
from zenprovision.stacks.config import Labels, StackConfig
from zenprovision.stacks.labels import validate_label
from zenprovision.stacks.overview import StackSummary

LEGACY_PROD = ["PROD", "prod ", " Prod"]


def legacy_stack(name: str, env: str, owner: str = "ci") -> StackConfig:
    """A stack config as an older version wrote it, with a label it no longer accepts."""
    config = StackConfig(name=name, recipe="hand-made", engine="embedded", created_at=datetime.now(timezone.utc),
                         labels=Labels(env=env, owner=owner), components={
                             "artifact_store": {"flavor": "local", "config": {"path": "file:///nowhere"}},
                             "orchestrator": {"flavor": "local", "config": {"workers": 1}},
                             "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:9"}}})
    store.save(config)
    return config


@pytest.mark.parametrize("option, value", [("--env", "PROD"), ("--env", "prod "), ("--env", ""),
                                           ("--owner", "Bob Smith"), ("--owner", "alice@example.com"),
                                           ("--owner", "x" * 64), ("--env", "-dev")])
def test_a_label_the_clouds_would_change_is_refused_and_nothing_written(home, cli, option, value):
    for command in ("recipe", "plan"):
        result = cli(command, "local", "--stack", "fresh", option, value, *(["--yes"] if command == "recipe" else []))
        assert result.code == 2, result.err
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and f"invalid {option} label {value!r}" in lines[0], result.err
    assert not home.exists() or not any(path.is_file() for path in home.rglob("*")), list(home.rglob("*"))


def test_the_hint_names_the_label_to_use_when_only_case_or_spaces_are_off():
    with pytest.raises(InputError) as refused:
        validate_label("--env", " PROD ")
    assert refused.value.hint.endswith("e.g. --env prod")
    assert validate_label("--owner", "ci-bot_2") == "ci-bot_2" and validate_label("--env", "x" * 63) == "x" * 63


@pytest.mark.parametrize("env", LEGACY_PROD)
def test_destroy_refuses_a_legacy_prod_stack_without_force(home, cli, env):
    legacy_stack("old", env)
    result = cli("destroy", "old", "--yes")
    assert result.code == 2 and "stack 'old' is a prod stack" in result.err, result.err
    assert store.exists("old")


@pytest.mark.parametrize("env", LEGACY_PROD)
def test_teardown_skips_a_legacy_prod_stack(home, cli, env):
    legacy_stack("old", env)
    result = cli("teardown", "--owner", "ci", "--yes", "--json")
    assert result.code == 0, result.err
    assert '"result": "skipped"' in result.out and "env prod is never torn down" in result.out
    assert store.exists("old")


@pytest.mark.parametrize("env", LEGACY_PROD)
def test_teardown_never_hands_a_legacy_prod_stack_to_destroy(env):
    legacy = StackSummary(name="old", recipe="local", engine="embedded", env=env, owner="ci", age=timedelta(hours=1),
                          ttl=None, expired=False, status="active", last_operation="deploy", last_result="succeeded")
    called: list[str] = []
    outcomes = stacks_teardown.teardown([legacy], parallel=1, dry_run=False, destroy=called.append)
    assert called == [] and [(o.result, o.reason) for o in outcomes] == [("skipped", "env prod is never torn down")]


@pytest.mark.parametrize("env", LEGACY_PROD)
def test_a_legacy_prod_stack_cannot_be_relabelled(home, env):
    existing = legacy_stack("old", env)
    with pytest.raises(InputError, match="a prod stack cannot be relabelled"):
        _labels(existing, None, "dev", None, None)
    assert _labels(existing, None, "prod", None, None).env == "prod"


@pytest.mark.parametrize("env", LEGACY_PROD)
def test_a_legacy_prod_label_still_hardens_the_cloud_resources(env):
    from zenprovision.blocks.labels import StackLabels
    from zenprovision.policy.model import Resource, Settings

    labels = StackLabels(stack="old", recipe="aws-k8s", env=env, owner="ci")
    assert labels.is_prod and not labels.is_dev
    resource = Resource(urn="urn:x", type="aws:eks/cluster:Cluster", name="c", props={"tags": labels.aws_tags()})
    assert Settings().env_of(resource) == "prod"


def test_teardown_filters_match_a_legacy_label_as_it_is_listed(home, cli):
    legacy_stack("old", "Dev ", owner="CI")
    result = cli("teardown", "--env", "dev", "--owner", "ci", "--dry-run", "--json")
    assert result.code == 0, result.err
    assert [(o["stack"], o["result"]) for o in json.loads(result.out)] == [("old", "would-destroy")]
