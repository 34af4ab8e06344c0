"""Writes docs/cli.md from the CLI's own --help texts (a test checks it is current)."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from zenprovision.cli import cli

HEADER = """# CLI reference

`provision` and `zenprovision` are the same command. Exit codes: 0 success, 1 an operation
failed, 2 bad usage or bad input (`plan --detailed-exitcode`: 0 no changes, 2 changes,
1 error). Errors are one line with a hint; `--verbose` adds the traceback.

This page is generated from `--help` by `python docs/gen_cli_reference.py`.
"""


def render() -> str:
    runner = CliRunner()
    parts = [HEADER, "## provision\n", "```", runner.invoke(cli, ["--help"], prog_name="provision", terminal_width=88).output.rstrip(), "```\n"]
    for name in cli.list_commands(None):
        text = runner.invoke(cli, [name, "--help"], prog_name="provision", terminal_width=88).output.rstrip()
        parts += [f"## provision {name}\n", "```", text, "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(__file__).with_name("cli.md")
    target.write_text(render())
    sys.stdout.write(f"wrote {target}\n")
