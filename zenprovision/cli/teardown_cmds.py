"""``provision teardown``: destroy every matching dev stack at once."""

from __future__ import annotations

import click

from zenprovision.cli.output import console, info, print_json


@click.command("teardown")
@click.option("--env", default=None, help="Only stacks with this env label (prod is never torn down).")
@click.option("--owner", help="Only stacks of this owner.")
@click.option("--expired", is_flag=True, help="Only stacks past their ttl.")
@click.option("--older-than", metavar="DURATION", help="Only stacks older than this (30m, 8h, 3d, 2w).")
@click.option("--dry-run", is_flag=True, help="List what would be destroyed, destroy nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--parallel", default=4, show_default=True, type=click.IntRange(1, 32), help="Stacks destroyed at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def teardown_command(env: str | None, owner: str | None, expired: bool, older_than: str | None, dry_run: bool,
                     yes: bool, parallel: int, as_json: bool) -> None:
    """Destroy every matching stack (never env prod); exit 1 if any failed."""
    from zenprovision.errors import InputError
    from zenprovision.stacks.labels import is_prod
    from zenprovision.stacks.registry import parse_duration
    from zenprovision.teardown import select, teardown

    if not any((env, owner, expired, older_than)):
        raise InputError("teardown needs a filter", hint="e.g. --env dev, --owner NAME, --expired or --older-than 3d")
    targets = select(env, owner, expired, parse_duration(older_than) if older_than else None)
    if not targets:
        info("No stack matches; nothing to tear down.")
        return
    names = ", ".join(t.name for t in targets if not is_prod(t.env))
    if names and not dry_run and not yes and not click.confirm(f"Destroy {names}?", default=False, err=True):
        raise click.exceptions.Abort()
    outcomes = teardown(targets, parallel, dry_run)
    if as_json:
        print_json([o.__dict__ for o in outcomes])
    else:
        from rich.table import Table
        from rich.text import Text

        table = Table("stack", "result", "attempts", "reason", box=None)
        for outcome in outcomes:  # a reason is a provider's error: text, never rich markup
            table.add_row(*(Text(cell) for cell in (outcome.stack, outcome.result, str(outcome.attempts or ""),
                                                     outcome.reason)))
        console().print(table)
    if any(o.result == "failed" for o in outcomes):
        raise click.exceptions.Exit(1)


COMMANDS = [teardown_command]
