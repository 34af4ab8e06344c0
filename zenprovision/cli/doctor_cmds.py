"""``provision doctor``: is every component of a deployed stack working?"""

from __future__ import annotations

import click

from zenprovision.cli.completion import complete_stacks
from zenprovision.cli.output import console, plain, print_json


@click.command("doctor")
@click.argument("stack", shell_complete=complete_stacks)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor_command(stack: str, as_json: bool) -> None:
    """Exercise every component of STACK, one line per check; exit 1 if any fails."""
    from zenprovision.engines import get_engine
    from zenprovision.runtime.doctor import run_checks
    from zenprovision.stacks import store

    config = store.load(stack)
    checks = run_checks(config, lambda: get_engine(config.engine).outputs(stack))
    if as_json:
        print_json([c.__dict__ for c in checks])
    else:
        out = console()  # the report is the result: stdout, so `provision doctor dev > report.txt` keeps it
        for check in checks:
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            out.print(f"{mark} {plain(f'{check.name:20}')} {check.seconds * 1000:7.0f} ms  {plain(check.detail)}")
    if not all(c.ok for c in checks):
        raise click.exceptions.Exit(1)


COMMANDS = [doctor_command]
