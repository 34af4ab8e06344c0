"""Ranges and choices of recipe config, checked before anything is created (issue 12, item 4)."""

from __future__ import annotations

import pytest

from zenprovision.errors import InputError, RecipeError
from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import apply_rules, parse_schema, resolve

KEYS = parse_schema({
    "port": {"type": "integer", "default": 0, "description": "p"},
    "ratio": {"type": "number", "default": 0.5, "description": "r"},
    "mode": {"type": "string", "default": "a", "description": "m"},
    "flag": {"type": "boolean", "default": False, "description": "f"},
}, "Pulumi.yaml")
RULED = apply_rules(KEYS, {
    "port": {"minimum": 0, "maximum": 65535},
    "ratio": {"minimum": 0, "maximum": 1},
    "mode": {"choices": ["a", "b"]},
}, "recipe.yaml")


@pytest.mark.parametrize("given, message", [
    ({"port": "70000"}, "'port' of recipe 't' must be 0 to 65535, got '70000'"),
    ({"port": "-1"}, "must be 0 to 65535, got '-1'"),
    ({"ratio": "1.5"}, "'ratio' of recipe 't' must be 0 to 1"),
    ({"ratio": "nan"}, "must be number"),
    ({"ratio": "1e999"}, "must be number"),
    ({"mode": "c"}, "'mode' of recipe 't' must be one of a, b, got 'c'"),
])
def test_values_outside_a_keys_range_or_choices_are_input_errors(given, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        resolve(RULED, given, "t")


def test_values_inside_the_rules_pass():
    assert resolve(RULED, {"port": "65535", "ratio": "1", "mode": "b"}, "t") == {
        "port": 65535, "ratio": 1.0, "mode": "b", "flag": False}
    assert resolve(RULED, {}, "t")["port"] == 0


@pytest.mark.parametrize("rules, message", [
    ({"nope": {"minimum": 1}}, "not in Pulumi.yaml"),
    ({"port": {"min": 1}}, "takes only the rules"),
    ({"mode": {"minimum": 1}}, "for integer or number keys"),
    ({"port": {"maximum": "high"}}, "must be numbers"),
    ({"mode": {"choices": []}}, "non-empty list"),
    ({"port": {"minimum": 1}}, "its default 0 is not at least 1"),
    ({"mode": {"choices": ["x"]}}, "its default 'a' is not one of x"),
    (["port"], "must map config keys"),
])
def test_broken_rules_are_recipe_errors(rules, message):
    with pytest.raises(RecipeError, match=message):
        apply_rules(KEYS, rules, "recipe.yaml")


def test_the_local_recipe_declares_its_rules(monkeypatch):
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    config = Catalog().get("local").config
    assert (config["model_server_port"].minimum, config["model_server_port"].maximum) == (0, 65535)
    assert config["dask_workers"].minimum == 1 and config["workers"].minimum == 1
    assert config["orchestrator"].choices == ("local", "dask")
    assert config["model_server_port"].to_dict()["maximum"] == 65535


@pytest.mark.parametrize("value", ["model_server_port=70000", "model_server_port=-1", "dask_workers=0",
                                   "orchestrator=k8s", "workers=0"])
def test_deploy_with_a_value_out_of_range_exits_2_in_one_line_creating_nothing(home, cli, value):
    result = cli("recipe", "local", "--stack", "dev", "-c", value, "-c", "orchestrator=dask"
                 if not value.startswith("orchestrator") else "workers=2", "--yes")
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert value.split("=")[0] in result.err and "must be" in result.err
    assert not (home / "local").exists() and not (home / "registry").exists()
