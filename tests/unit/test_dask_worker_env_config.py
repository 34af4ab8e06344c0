"""``-c dask_worker_env=...`` is checked with the other ``-c`` values: a bad name is refused
before the engine starts, so it leaves no log (or anything else) in the home."""

from __future__ import annotations

import pytest

from zenprovision.errors import RecipeError
from zenprovision.recipes.schema import apply_rules, parse_schema, resolve

KEYS = parse_schema({"names": {"type": "array", "default": [], "description": "n"},
                     "count": {"type": "integer", "default": 1, "description": "c"}}, "Pulumi.yaml")


@pytest.mark.parametrize("command", [["plan"], ["recipe", "--yes"]])
@pytest.mark.parametrize("value", ["not a name", "AWS_X,1B", "A=B"])
def test_a_bad_worker_env_name_is_refused_when_c_is_checked(home, cli, command, value):
    result = cli(command[0], "local", "--stack", "dev", "-c", "orchestrator=dask", "-c", f"dask_worker_env={value}",
                 *command[1:])
    assert result.code == 2, result.err
    assert result.err.strip() == (
        "Error: config key 'dask_worker_env' of recipe 'local' must be a comma-separated list, each item an "
        f"environment variable name (letters, digits and _, not starting with a digit), got {value!r} "
        "(see `provision describe local`)")
    assert not home.exists() or [p for p in home.rglob("*") if p.is_file()] == []


def test_each_item_of_an_array_key_must_have_its_format():
    keys = apply_rules(KEYS, {"names": {"format": "env-name"}}, "recipe.yaml")
    assert resolve(keys, {"names": "AWS_ACCESS_KEY_ID, _X1"}, "r")["names"] == ["AWS_ACCESS_KEY_ID", "_X1"]
    assert resolve(keys, {}, "r")["names"] == []
    with pytest.raises(RecipeError, match="format is for string keys and each item of array keys"):
        apply_rules(KEYS, {"count": {"format": "env-name"}}, "recipe.yaml")
