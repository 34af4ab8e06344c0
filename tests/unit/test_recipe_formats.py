"""Named formats of string config keys (recipe.yaml ``format:``): cron schedules and bucket URLs."""

import pytest

from zenprovision.errors import InputError, RecipeError
from zenprovision.recipes.formats import is_cron, split_bucket_url
from zenprovision.recipes.schema import apply_rules, parse_schema, resolve


@pytest.mark.parametrize("value", [
    "0 * * * *", "*/15 * * * *", "0 2 * * 1-5", "30 3 1,15 * *", "0 0 * jan,jul sun", "5-55/10 8-18 * * MON-FRI",
    "0 0 29 2 *", "0 0 * * 7", "@hourly", "@daily",
])
def test_valid_cron_schedules(value):
    assert is_cron(value)


@pytest.mark.parametrize("value", [
    "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
    "*/0 * * * *", "5-1 * * * *", "1,,2 * * * *", "@reboot", "every hour", "0 * * * mon-",
])
def test_invalid_cron_schedules(value):
    assert not is_cron(value)


def test_macros_can_be_refused_where_a_scheduler_lacks_them():
    assert not is_cron("@hourly", macros=False) and is_cron("0 * * * *", macros=False)


@pytest.mark.parametrize("value, scheme, expected", [
    ("s3://team-home/zp/shared", "s3", ("team-home", "zp/shared")),
    ("s3://team-home/", "s3", ("team-home", "")),
    ("gs://team.home/zp", "gs", ("team.home", "zp")),
    ("gs://team-home/zp", "s3", None),
    ("s3://Team_Home/zp", "s3", None),
    ("s3://ab", "s3", None),
    ("s3://team-home/a//b", "s3", ("team-home", "a/b")),  # as the home itself reads it
    ("s3://team..home/x", "s3", None),
    ("team-home/zp", "s3", None),
])
def test_bucket_urls(value, scheme, expected):
    assert split_bucket_url(value, scheme) == expected


KEYS = parse_schema({"schedule": {"type": "string", "default": "", "description": "s"},
                     "workers": {"type": "integer", "default": 1, "description": "w"}}, "Pulumi.yaml")


def test_a_format_rule_checks_given_values_and_lets_empty_mean_off():
    keys = apply_rules(KEYS, {"schedule": {"format": "cron"}}, "recipe.yaml")
    assert resolve(keys, {}, "r")["schedule"] == ""
    assert resolve(keys, {"schedule": "0 * * * *"}, "r")["schedule"] == "0 * * * *"
    with pytest.raises(InputError, match="'schedule' of recipe 'r' must be a cron schedule") as caught:
        resolve(keys, {"schedule": "hourly"}, "r")
    assert caught.value.exit_code == 2
    assert keys["schedule"].to_dict()["format"] == "cron"


@pytest.mark.parametrize("rules, message", [
    ({"workers": {"format": "cron"}}, "format is for string keys"),
    ({"schedule": {"format": "crontab"}}, "format is for string keys and each item of array keys, one of cron, env-name, gs-url, kubernetes-minor, s3-url"),
])
def test_bad_format_rules_are_recipe_errors(rules, message):
    with pytest.raises(RecipeError, match=message):
        apply_rules(KEYS, rules, "recipe.yaml")


def test_a_default_must_have_its_format():
    keys = parse_schema({"home": {"type": "string", "default": "gs://x/y", "description": "h"}}, "Pulumi.yaml")
    with pytest.raises(RecipeError, match="its default 'gs://x/y' is not an S3 URL"):
        apply_rules(keys, {"home": {"format": "s3-url"}}, "recipe.yaml")
