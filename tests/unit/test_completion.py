"""Shell completion of stack names, recipe names, config keys and output keys."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from tests.unit.test_exports import AWS, LOCAL
from zenprovision.cli import cli as provision
from zenprovision.stacks import store


def complete(*words: str, incomplete: str = "") -> list[str]:
    return [item.value for item in ShellComplete(provision, {}, "provision", "_PROVISION_COMPLETE")
            .get_completions(list(words), incomplete)]


@pytest.fixture
def two_stacks(home):
    store.save(AWS)
    store.save(LOCAL.model_copy(update={"name": "dk"}))


@pytest.mark.parametrize("words", [("output",), ("doctor",), ("destroy",), ("refresh",), ("stacks", "show"),
                                   ("run", "x.py", "--stack"), ("plan", "local", "--stack")])
def test_stack_names_complete(two_stacks, words):
    assert complete(*words, incomplete="d") == ["dev", "dk"]
    assert complete(*words, incomplete="de") == ["dev"]


@pytest.mark.parametrize("words", [("plan",), ("recipe",), ("describe",), ("output", "dev", "--plan")])
def test_recipe_names_complete(home, words):
    assert {"aws-k8s", "gcp-k8s", "local"} <= set(complete(*words))
    assert complete(*words, incomplete="aw") == ["aws-k8s"]


def test_config_keys_of_the_recipe_on_the_line_complete(home):
    keys = complete("plan", "aws-k8s", "-c", incomplete="re")
    assert keys == ["region="]
    assert "node_min_size=" in complete("recipe", "aws-k8s", "--stack", "dev", "--config")
    assert complete("plan", "aws-k8s", "-c", incomplete="region=eu") == []  # values are the user's


def test_output_keys_of_the_stack_on_the_line_complete(two_stacks):
    assert complete("output", "dev", incomplete="artifact_store.config.") == [
        "artifact_store.config.bucket", "artifact_store.config.region", "artifact_store.config.endpoint_url"]


def test_completion_never_raises_on_a_broken_home(home):
    (home / "stacks").mkdir(parents=True)
    (home / "stacks" / "dev.yaml").write_text("{not: [valid")
    assert complete("output", "dev", incomplete="a") == []
    assert complete("plan", "no-such-recipe", "-c") == []


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F"), ("zsh", "#compdef provision"),
                                           ("fish", "complete --no-files --command provision")])
def test_completion_prints_the_script_for_each_shell(cli, shell, marker):
    result = cli("completion", shell)
    assert result.code == 0 and marker in result.out and "_PROVISION_COMPLETE" in result.out


def test_the_installed_script_answers_a_completion_request(two_stacks):
    """What the bash script does on <TAB>: run `provision` with the completion variables set."""
    script = Path(sys.executable).with_name("provision")
    env = {**os.environ, "_PROVISION_COMPLETE": "bash_complete", "COMP_WORDS": "provision output d", "COMP_CWORD": "2"}
    out = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60).stdout
    assert out.split() == ["plain,dev", "plain,dk"]
