"""The recipe rules on hand-made program records: no mock run, so they stay in the quick loop
(test_conformance.py runs them over real programs)."""

from __future__ import annotations

import textwrap

import pytest

from zenprovision.recipes.recipe import load_recipe
from zenprovision.testing.program import ProgramRecord
from zenprovision.testing.rules import RULES, Context, config_schema, no_plaintext_credentials, stack_output

GOOD_STACK = {"artifact_store": {"flavor": "s3", "config": {"bucket": "b"}},
              "orchestrator": {"flavor": "kubernetes", "config": {}},
              "model_server": {"flavor": "kserve", "config": {}}}


@pytest.fixture
def recipe(tmp_path):
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text(textwrap.dedent("""
        name: probe
        runtime: {name: python}
        description: probe
        config:
          region: {type: string, default: us-east-1, description: where it runs}
          size: {type: integer, default: 1, description: "  "}
    """))
    (folder / "recipe.yaml").write_text(
        "cloud: aws\nengine: pulumi\ncomponents: {artifact_store: s3, orchestrator: kubernetes, model_server: kserve}\n")
    (folder / "__main__.py").write_text("")
    return load_recipe(folder, source="path")


def context(recipe, exports, secret=()):
    return Context(recipe, ProgramRecord([], exports, list(secret)), {"env": "dev"}, {})


def found(violations):
    return sorted((v.rule, v.resource) for v in violations)


def test_every_config_key_needs_a_description(recipe):
    """The loader refuses a missing one; a blank one gets this far."""
    [blank] = config_schema(context(recipe, {}))
    assert (blank.rule, blank.resource, blank.message) == ("config-schema", "size", "has no description")


def test_the_stack_output_must_be_there_valid_and_as_declared(recipe):
    assert stack_output(context(recipe, {"stack": GOOD_STACK})) == []
    [none] = stack_output(context(recipe, {}))
    assert (none.rule, none.resource, none.message) == ("stack-output", "stack", "the program exports no `stack` output")
    assert found(stack_output(context(recipe, {"stack": "text"}))) == [("stack-output", "stack")]
    invalid = {**GOOD_STACK, "artifact_store": {"config": {}}}
    assert found(stack_output(context(recipe, {"stack": invalid}))) == [("stack-output", "stack.artifact_store.flavor")]
    other = {**GOOD_STACK, "model_server": {"flavor": "seldon", "config": {}}}
    [wrong] = stack_output(context(recipe, {"stack": other}))
    assert (wrong.rule, wrong.resource, wrong.message) == (
        "stack-output", "stack.model_server", "recipe.yaml declares flavor 'kserve', the output has 'seldon'")
    missing = {k: v for k, v in GOOD_STACK.items() if k != "model_server"}
    [absent] = stack_output(context(recipe, {"stack": missing}))
    assert (absent.resource, absent.message) == ("stack.model_server", "Field required")
    extra = {**GOOD_STACK, "container_registry": {"flavor": "ecr", "config": {}}}
    assert [(v.rule, v.resource, v.message) for v in stack_output(context(recipe, {"stack": extra}))] == [
        ("stack-output", "stack.container_registry", "exported but not declared in recipe.yaml")]


def test_plaintext_credentials_in_outputs_are_caught_and_secret_outputs_are_not(recipe):
    exports = {"kubeconfig": {"token": "abc"}, "stack": GOOD_STACK, "admin": {"password": "hunter22"},
               "key": "AKIAABCDEFGHIJKLMNOP", "ref": {"password": "env:ADMIN_PASSWORD"}}
    violations = no_plaintext_credentials(context(recipe, exports, secret=["kubeconfig"]))
    assert [(v.rule, v.resource, v.message) for v in violations] == [
        ("no-plaintext-secrets", "output admin", "admin.password holds a plaintext secret; store a reference such as env:NAME"),
        ("no-plaintext-secrets", "output key", "key.value looks like a credential; store a reference instead")]
    assert all("hunter22" not in str(v) for v in violations)  # the report never repeats the secret
    assert str(violations[0]).startswith("[no-plaintext-secrets] output admin: ")


def test_the_rules_are_the_three(recipe):
    assert RULES == [config_schema, stack_output, no_plaintext_credentials]
