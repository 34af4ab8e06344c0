"""The lazy command table: it lists every command with its own help, and imports none for --help."""

import importlib
import subprocess
import sys

import pytest

from zenprovision.cli import cli
from zenprovision.cli.lazy import COMMANDS, LazyGroup

MODULES = ["authoring_cmds", "catalog_cmds", "completion", "deploy_cmds", "doctor_cmds", "home_cmds", "kubeconfig_cmds",
           "run_cmds", "stack_cmds", "sweep_cmds", "teardown_cmds", "unlock_cmds"]


def test_every_command_of_every_module_is_in_the_table():
    defined = {command.name for module in MODULES
               for command in importlib.import_module(f"zenprovision.cli.{module}").COMMANDS}
    assert defined == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("limit", [30, 60, 120])
def test_the_table_lists_what_the_command_itself_says(name, limit):
    fresh = LazyGroup("provision")  # nothing imported yet: help comes from the table
    listed = fresh.listed_help(name, limit)
    assert listed == cli.get_command(None, name).get_short_help_str(limit)


def test_help_imports_no_command_module():
    code = ("import sys; from zenprovision.cli import main; sys.argv = ['provision', '--help']\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('zenprovision.cli.') and m.endswith(('cmds', 'completion'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "stacks" in out and out.strip().endswith("[]")


def test_a_command_runs_from_its_module_alone():
    code = ("import sys; from zenprovision.cli import main; sys.argv = ['provision', 'stacks', '--help']\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('zenprovision.cli.') and m.endswith('cmds')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("['zenprovision.cli.stack_cmds']")
