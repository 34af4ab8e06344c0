"""Bad input: one clear line, exit 2, and nothing written."""

import json
import subprocess
import sys

import pytest


def nothing_written(home):
    return not (home / "state").exists() and not (home / "stacks").exists()


@pytest.mark.parametrize("args, message", [
    (["recipe", "local", "--stack", "Bad_Name", "--yes"], "invalid stack name"),
    (["recipe", "local", "--stack", "dev", "-c", "nope=1", "--yes"], "no config key 'nope'"),
    (["recipe", "local", "--stack", "dev", "-c", "workers=many", "--yes"], "must be integer"),
    (["recipe", "local", "--stack", "dev", "-c", "workers", "--yes"], "not KEY=VALUE"),
    (["recipe", "local", "--stack", "dev", "-c", "workers=0", "--yes"], "'workers' of recipe 'local' must be 1 to 256"),
    (["recipe", "nosuch", "--stack", "dev", "--yes"], "no recipe named 'nosuch'"),
    (["plan", "local", "--stack", "dev", "-c", "force_destroy=perhaps"], "must be boolean"),
    (["describe", "nosuch"], "no recipe named 'nosuch'"),
    (["destroy", "ghost", "--yes"], "no stack named 'ghost'"),
    (["output", "ghost"], "no stack named 'ghost'"),
    (["refresh", "ghost"], "no stack named 'ghost'"),
    (["recipe", "local", "--yes"], "Missing option '--stack'"),
])
def test_bad_input_exits_2_with_one_line(home, cli, args, message):
    result = cli(*args)
    assert result.code == 2, result.err
    assert message in result.err
    assert "Traceback" not in result.err
    assert nothing_written(home)


def test_verbose_shows_the_traceback(home, cli):
    result = cli("--verbose", "destroy", "ghost", "--yes")
    assert result.code == 2 and "Traceback" in result.err


def test_corrupt_stack_config_is_reported_and_kept(home, cli):
    path = home / "stacks" / "dev.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("apiVersion: zenprovision/v1\nname: dev\n")
    for args in (["output", "dev"], ["recipe", "local", "--stack", "dev", "--yes"]):
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert str(path) in result.err and "recipe" in result.err
    listed = cli("stacks")  # one damaged stack is listed as damaged; it does not hide the others
    assert listed.code == 0 and "damaged" in listed.out and str(path) in listed.out
    assert path.read_text() == "apiVersion: zenprovision/v1\nname: dev\n"


def test_recipes_and_describe_json(home, cli):
    recipes = json.loads(cli("recipes", "--json").out)
    local = next(r for r in recipes if r["name"] == "local")
    assert local["cloud"] == "local" and local["engine"] == "embedded"
    details = json.loads(cli("describe", "local", "--json").out)
    keys = {k["name"]: k for k in details["config"]}
    assert keys["workers"]["type"] == "integer" and keys["workers"]["default"] == 2
    assert details["components"]["model_server"] == "mlserver"


def test_help_and_stacks_load_no_cloud_sdk(home):
    probe = (
        "import sys, runpy; sys.argv = ['provision'] + sys.argv[1:];\n"
        "try:\n    runpy.run_module('zenprovision', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('pulumi', 'pulumi_aws', 'pulumi_gcp', 'boto3', 'mlserver') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)"
    )
    for args in (["--help"], ["stacks"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True)
        assert "HEAVY []" in result.stderr, (args, result.stderr)
