import pytest

from zenprovision.errors import InputError, RecipeError
from zenprovision.recipes.schema import parse_assignments, parse_schema, resolve
from zenprovision.stacks import validate_stack_name

SCHEMA = parse_schema({
    "workers": {"type": "integer", "default": 2, "description": "w"},
    "ratio": {"type": "number", "default": 0.5, "description": "r"},
    "debug": {"type": "boolean", "default": False, "description": "d"},
    "zones": {"type": "array", "default": [], "description": "z"},
    "region": {"type": "string", "description": "required"},
}, "test")


def test_defaults_and_coercion():
    values = resolve(SCHEMA, parse_assignments(["region=eu", "workers=4", "debug=yes", "zones=a, b", "ratio=2"]), "t")
    assert values == {"workers": 4, "ratio": 2.0, "debug": True, "zones": ["a", "b"], "region": "eu"}


def test_value_may_contain_equals_sign():
    assert parse_assignments(["region=a=b"]) == {"region": "a=b"}


@pytest.mark.parametrize("pairs, message", [
    (["region=eu", "nope=1"], "no config key 'nope'"),
    (["region=eu", "workers=many"], "must be integer"),
    (["region=eu", "debug=maybe"], "must be boolean"),
    (["region=eu", "ratio=x"], "must be number"),
    ([], "needs config key 'region'"),
])
def test_bad_values_are_rejected(pairs, message):
    with pytest.raises(InputError, match=message):
        resolve(SCHEMA, parse_assignments(pairs), "t")


def test_assignment_without_equals_sign():
    with pytest.raises(InputError, match="not KEY=VALUE"):
        parse_assignments(["workers"])


@pytest.mark.parametrize("raw, message", [
    ({"k": {"type": "integer"}}, "no description"),
    ({"k": {"type": "dict", "description": "x"}}, "type 'dict'"),
    ({"k": "string"}, "needs type"),
])
def test_schema_gaps_are_recipe_errors(raw, message):
    with pytest.raises(RecipeError, match=message):
        parse_schema(raw, "Pulumi.yaml")


@pytest.mark.parametrize("name", ["Dev", "1dev", "dev_1", "dev-", "a--b", "", "x" * 41, "../etc"])
def test_invalid_stack_names(name):
    with pytest.raises(InputError):
        validate_stack_name(name)


@pytest.mark.parametrize("name", ["dev", "team-a-dev", "s3"])
def test_valid_stack_names(name):
    assert validate_stack_name(name) == name
