"""Which labels a deploy gives a stack, and when a redeploy rewrites its config, in-process
(the CLI side is in test_stack_lifecycle.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from zenprovision import lifecycle
from zenprovision.engines.base import Plan
from zenprovision.errors import InputError
from zenprovision.stacks import registry
from zenprovision.stacks.config import Labels, StackConfig

COMPONENTS = {"artifact_store": {"flavor": "local", "config": {"path": "file:///tmp/a"}},
              "orchestrator": {"flavor": "local", "config": {"workers": 2}},
              "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:9"}}}


def config(env: str = "dev", owner: str = "alice", ttl: str | None = None) -> StackConfig:
    return StackConfig(name="s", recipe="files", engine="embedded", created_at=datetime.now(timezone.utc),
                       labels=Labels(env=env, owner=owner, ttl=ttl), components=COMPONENTS)


def record(env: str = "dev", owner: str = "bob", ttl: str | None = None) -> registry.StackRecord:
    return registry.StackRecord(name="s", recipe="files", engine="embedded", env=env, owner=owner, ttl=ttl,
                                created_at=registry.now(), status="active")


def test_a_new_stack_is_dev_owned_by_the_user_with_the_homes_default_ttl(home, monkeypatch):
    monkeypatch.setattr(lifecycle, "_current_user", lambda: "me")
    assert lifecycle._labels(None, None, None, None, None) == Labels(env="dev", owner="me", ttl=None)
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.yaml").write_text("default_ttl:\n  dev: 3d\n  staging: 2w\n")
    assert lifecycle._labels(None, None, None, None, None).ttl == "3d"
    assert lifecycle._labels(None, None, "staging", "ci", None) == Labels(env="staging", owner="ci", ttl="2w")
    assert lifecycle._labels(None, None, "prod", None, "8h").ttl == "8h"  # given beats the default


def test_labels_not_given_are_kept_from_the_config_then_the_record(home):
    assert lifecycle._labels(config("staging", "alice", "2h"), record(), None, None, None) == \
        Labels(env="staging", owner="alice", ttl="2h")
    assert lifecycle._labels(None, record("staging", "bob", "1d"), None, None, None) == \
        Labels(env="staging", owner="bob", ttl="1d")
    assert lifecycle._labels(config("dev", "alice", "2h"), None, "staging", "carol", "30m") == \
        Labels(env="staging", owner="carol", ttl="30m")


@pytest.mark.parametrize("existing, found", [(config("prod"), None), (None, record("prod"))])
def test_a_prod_stack_keeps_its_env(home, existing, found):
    with pytest.raises(InputError, match="prod stack cannot be relabelled"):
        lifecycle._labels(existing, found, "dev", None, None)
    assert lifecycle._labels(existing, found, "prod", None, None).env == "prod"
    assert lifecycle._labels(existing, found, None, None, None).env == "prod"


def test_a_bad_ttl_is_refused_before_anything_runs(home):
    with pytest.raises(InputError):
        lifecycle._labels(None, None, None, "me", "soon")


def deployment(existing: StackConfig | None, labels: Labels) -> lifecycle.Deployment:
    return lifecycle.Deployment(request=None, engine=None, labels=labels, existing=existing)


def test_config_changes_when_components_or_labels_differ():
    current = config()
    same = Plan(changes=[], outputs={"stack": COMPONENTS})
    assert lifecycle.config_changes(deployment(None, current.labels), same)
    assert not lifecycle.config_changes(deployment(current, current.labels), same)
    relabelled = Labels(env="dev", owner="alice", ttl="1d")
    assert lifecycle.config_changes(deployment(current, relabelled), same)
    moved = {**COMPONENTS, "orchestrator": {"flavor": "local", "config": {"workers": 4}}}
    assert lifecycle.config_changes(deployment(current, current.labels), Plan(changes=[], outputs={"stack": moved}))
    unknown = Plan(changes=[], outputs={})  # an engine that learns outputs only by applying
    assert not lifecycle.config_changes(deployment(current, current.labels), unknown)
    assert lifecycle.config_changes(deployment(current, relabelled), unknown)
