"""``provision unlock``: show who holds a stack's lock; take it from a holder that is gone."""

from __future__ import annotations

import click

from zenprovision.cli.completion import complete_stacks
from zenprovision.cli.output import info, plain


@click.command("unlock")
@click.argument("stack", shell_complete=complete_stacks)
@click.option("--force", is_flag=True, help="Take the lock from its holder (a shared home only; once you know it is gone).")
def unlock_command(stack: str, force: bool) -> None:
    """Show who holds STACK's lock; --force takes it from a holder that is gone.

    Without --force a held lock exits 2 naming its holder. With --force, in a shared home,
    the lease is taken away and a force-unlock operation is recorded in the stack's history.
    A local home's lock held by a live process is never broken.
    """
    from zenprovision.unlock import unlock

    done = unlock(stack, force)
    if not done.previous:
        info(f"Stack [bold]{stack}[/] is not locked.")
        return
    note = "; recorded in its history" if done.recorded else ""
    info(f"Took the lock of stack [bold]{stack}[/] from {plain(done.previous)}{note}.")


COMMANDS = [unlock_command]
