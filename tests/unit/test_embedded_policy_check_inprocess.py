"""The policy pack over an offline plan: each planned resource reaches the rules whole, with
the stack's labels and the recipe's force_destroy, and never with the provider blob or a secret's wrapper."""

from __future__ import annotations

import pytest

from zenprovision.engines.embedded.ops import Registration
from zenprovision.engines.embedded.policy_check import findings
from zenprovision.engines.embedded.values import PROVIDER_KEY, SECRET_SIG, SECRET_SIG_KEY
from zenprovision.policy import Resource, Settings


@pytest.fixture
def judged(monkeypatch):
    seen = {}

    class Finding:
        def __init__(self, text):
            self.text = text

        def to_dict(self):
            return {"message": self.text}

    def evaluate(resources, settings):
        seen.update(resources=resources, settings=settings)
        return [Finding(f"{r.name} judged") for r in resources]

    monkeypatch.setattr("zenprovision.policy.evaluate", evaluate)
    return seen


REG = Registration("urn:b", "aws:s3/bucket:Bucket", "b", True, "urn:group", ["urn:key"],
                   {PROVIDER_KEY: "blob", "acl": "private", "kms": {SECRET_SIG_KEY: SECRET_SIG, "value": "k"}},
                   protect=True, retain_on_delete=True)


def test_planned_resources_reach_the_rules_whole(judged):
    result = findings([REG], {"env": "prod", "owner": "ml"}, {"force_destroy": False})
    assert result == [{"message": "b judged"}]
    assert judged["resources"] == [Resource("aws:s3/bucket:Bucket", "b", "urn:b", {"acl": "private", "kms": "k"},
                                            protect=True, retain_on_delete=True, dependencies=("urn:key",),
                                            parent="urn:group")]
    assert judged["settings"] == Settings(env="prod", labels={"env": "prod", "owner": "ml"}, force_destroy="False")


def test_without_labels_or_force_destroy_the_rules_get_none(judged):
    findings([], {}, {})
    assert judged["settings"] == Settings(env=None, labels={}, force_destroy=None)
