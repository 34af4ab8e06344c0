"""Labels, the registry, prod protection, teardown and failed destroys, on the `files` recipe."""

import json

import pytest
import yaml

from zenprovision.errors import OperationFailed, StackLockedError
from zenprovision.stacks import registry
from zenprovision.teardown import destroy_with_retries


def deploy(cli, tmp_path, stack, *args):
    folder = tmp_path / stack
    result = cli("recipe", "files", "--stack", stack, "-c", f"dir={folder}", "-c", "files=a", "--yes", *args)
    assert result.code == 0, result.err
    return folder


def listed(cli, *args, env=None):
    result = cli("stacks", "--json", *args, env=env)
    assert result.code == 0, result.err
    return {row["name"]: row for row in json.loads(result.out)}


def test_labels_go_into_config_record_and_listing(home, cli, fixture_recipes, tmp_path):
    deploy(cli, tmp_path, "s1", "--env", "staging", "--owner", "alice", "--ttl", "2h")
    deploy(cli, tmp_path, "s2", "--owner", "bob")
    config = yaml.safe_load(cli("output", "s1").out)
    assert config["labels"] == {"env": "staging", "owner": "alice", "ttl": "2h"}
    rows = listed(cli)
    assert rows["s1"]["env"] == "staging" and rows["s1"]["ttl"] == "2h" and rows["s1"]["expired"] is False
    assert rows["s2"]["env"] == "dev" and rows["s2"]["owner"] == "bob"
    assert rows["s1"]["last_operation"] == "deploy" and rows["s1"]["last_result"] == "succeeded"
    assert set(listed(cli, "--env", "staging")) == {"s1"} and set(listed(cli, "--owner", "bob")) == {"s2"}
    assert listed(cli, "--expired") == {}
    later = {"ZENPROVISION_NOW": "2099-01-01T00:00:00+00:00"}
    assert set(listed(cli, "--expired", env=later)) == {"s1"}  # s2 has no ttl
    for what_if in ("2099-01-01T00:00:00", "next year"):  # no time zone: which one? One line, exit 2
        refused = cli("stacks", "--expired", env={"ZENPROVISION_NOW": what_if})
        assert refused.code == 2 and "ZENPROVISION_NOW" in refused.err and "Traceback" not in refused.err, refused.err
    shown = yaml.safe_load(cli("stacks", "show", "s1").out)
    assert [op["op"] for op in shown["operations"]] == ["deploy"] and shown["config"]["name"] == "s1"
    assert cli("recipe", "files", "--stack", "s3", "-c", "dir=/tmp/x", "--ttl", "soon", "--yes").code == 2


def test_home_settings_give_dev_stacks_a_default_ttl(home, cli, fixture_recipes, tmp_path):
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.yaml").write_text("default_ttl:\n  dev: 3d\n")
    deploy(cli, tmp_path, "d1")
    deploy(cli, tmp_path, "p1", "--env", "prod")
    rows = listed(cli)
    assert rows["d1"]["ttl"] == "3d" and rows["p1"]["ttl"] is None


def test_failed_destroy_keeps_the_record_and_the_next_one_finishes(home, cli, fixture_recipes, tmp_path):
    folder = deploy(cli, tmp_path, "f1")
    (folder / ".refuse-delete-a").write_text("")
    failed = cli("destroy", "f1", "--yes")
    assert failed.code == 1
    assert "left 1: a (a is protected by a marker)" in failed.err  # index went, a stayed
    assert not (folder / "index").exists() and (folder / "a").exists()
    row = listed(cli)["f1"]
    assert row["status"] == "destroy-failed" and row["last_result"] == "failed"
    (folder / ".refuse-delete-a").unlink()
    assert cli("destroy", "f1", "--yes").code == 0
    assert listed(cli) == {} and not (folder / "a").exists()


def test_prod_needs_force_and_the_name(home, cli, fixture_recipes, tmp_path):
    deploy(cli, tmp_path, "live", "--env", "prod")
    refused = cli("destroy", "live", "--yes")
    assert refused.code == 2 and "prod stack" in refused.err and "--force" in refused.err
    wrong = cli("destroy", "live", "--force", input="other\n")
    assert wrong.code == 2 and "does not match" in wrong.err
    assert "live" in listed(cli)
    assert cli("destroy", "live", "--force", input="live\n").code == 0
    deploy(cli, tmp_path, "live2", "--env", "prod")
    assert cli("destroy", "live2", "--force", "--confirm", "live2").code == 0


def test_teardown_goes_on_past_a_failure_and_never_touches_prod(home, cli, fixture_recipes, tmp_path):
    for name in ("t1", "t2", "t3"):
        deploy(cli, tmp_path, name, "--owner", "ci")
    deploy(cli, tmp_path, "keep", "--owner", "ci", "--env", "prod")
    (tmp_path / "t2" / ".refuse-delete-a").write_text("")
    dry = cli("teardown", "--owner", "ci", "--dry-run", "--json")
    assert {(o["stack"], o["result"]) for o in json.loads(dry.out)} == {
        ("t1", "would-destroy"), ("t2", "would-destroy"), ("t3", "would-destroy"), ("keep", "skipped")}
    assert set(listed(cli)) == {"t1", "t2", "t3", "keep"}
    result = cli("teardown", "--owner", "ci", "--yes", "--parallel", "3", "--json")
    assert result.code == 1
    outcomes = {o["stack"]: o for o in json.loads(result.out)}
    assert outcomes["t1"]["result"] == outcomes["t3"]["result"] == "destroyed"
    assert outcomes["t2"]["result"] == "failed" and "protected by a marker" in outcomes["t2"]["reason"]
    assert outcomes["t2"]["attempts"] == 1  # not a transient failure: no retry
    assert outcomes["keep"]["result"] == "skipped"
    assert set(listed(cli)) == {"t2", "keep"}
    assert cli("teardown", "--yes").code == 2  # a filter is required


def test_retries_transient_failures_with_backoff():
    calls = []

    def flaky(name):
        calls.append(name)
        if len(calls) < 3:
            raise StackLockedError("stack 'x' is locked by PID 1")

    assert destroy_with_retries("x", destroy=flaky, backoff=0.01).result == "destroyed"
    assert len(calls) == 3

    def broken(name):
        raise OperationFailed("delete of 'a' failed: access denied")

    outcome = destroy_with_retries("y", destroy=broken, backoff=0.01)
    assert outcome.result == "failed" and outcome.attempts == 1 and "access denied" in outcome.reason


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("8h", 28800), ("3d", 259200), ("2w", 1209600)])
def test_durations(text, seconds):
    assert registry.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["5218w", "36526d", "876601h", "99999999999d", "9999999d"])
def test_a_duration_past_100_years_is_refused_in_one_line(text):
    """`--ttl 9999999d` was taken, and every listing then failed: created_at + ttl is past year 9999."""
    from zenprovision.errors import InputError

    with pytest.raises(InputError, match="longer than 100 years"):
        registry.parse_duration(text)
    assert registry.parse_duration("36525d").days == registry.parse_duration("5217w").days + 6  # 100 years still is
