"""Parse a ``provision ...`` command line the way the CLI would, without running it.

Schedules (the teardown CronJob, the CI workflow) carry a command as text; this proves it
names a real command with real options, so a renamed flag breaks a test, not a night's run.
"""

from __future__ import annotations

import click


def parse_provision(argv: list[str]) -> tuple[str, dict]:
    """(command name, its parsed params); click raises UsageError for anything unknown."""
    from zenprovision.cli import cli

    if not argv or argv[0] not in ("provision", "zenprovision"):
        raise click.UsageError(f"not a provision command line: {argv!r}")
    with cli.make_context("provision", list(argv[1:])) as group:
        name, command, rest = cli.resolve_command(group, [*group._protected_args, *group.args])
        if command is None:
            raise click.UsageError(f"no command in {argv!r}")
        with command.make_context(name, rest, parent=group) as context:
            return name, dict(context.params)
