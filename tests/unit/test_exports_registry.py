"""A container registry with no uri is left out of the ZenML export, with a note saying why.

ZenML's registry configs take ``uri: ""`` without a word and then tag images for a registry
named nothing; a stack without its registry imports fine and says what it lacks.
"""

from __future__ import annotations

import pytest
import yaml

from tests.unit.test_exports import AWS, GCP, stack
from zenprovision.stacks import exports, store


def _without_registry_uri(base, flavor: str, config: dict):
    parts = {kind: {"flavor": c.flavor, "config": dict(c.config)}
             for kind, c in base.components if c is not None and kind != "container_registry"}
    return stack(**parts, container_registry={"flavor": flavor, "config": config})


@pytest.mark.parametrize(("base", "flavor", "config"), [
    (AWS, "ecr", {}), (AWS, "ecr", {"uri": ""}), (AWS, "ecr", {"uri": "/zp-dev-pipelines"}), (AWS, "ecr", {"uri": " "}),
    (GCP, "gar", {}), (GCP, "gar", {"uri": ""})])
def test_a_registry_without_a_uri_is_left_out_with_a_note(base, flavor, config):
    document, notes = exports.to_zenml(_without_registry_uri(base, flavor, config), "0.98.0")
    assert set(document["components"]) == {"artifact_store", "orchestrator"}
    assert f"container_registry flavor {flavor!r} has no uri in the stack config; left out" in notes


def test_a_registry_with_a_uri_is_still_exported():
    assert exports.to_zenml(AWS, "0.98.0")[0]["components"]["container_registry"]["configuration"]["uri"]
    planned = _without_registry_uri(AWS, "ecr", {"uri": exports.UNKNOWN})  # `provision output --plan`
    assert exports.to_zenml(planned, "0.98.0")[0]["components"]["container_registry"]["configuration"] == {
        "uri": exports.UNKNOWN}


def test_the_cli_export_has_no_empty_registry_and_says_so_on_stderr(home, cli):
    store.save(_without_registry_uri(AWS, "ecr", {"uri": ""}))
    result = cli("output", "dev", "--format", "zenml", "--zenml-version", "0.98.0")
    assert result.code == 0
    assert "container_registry" not in yaml.safe_load(result.out)["components"]
    assert "has no uri" in result.err
