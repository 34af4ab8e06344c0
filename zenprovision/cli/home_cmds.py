"""``provision home show`` and ``home push``: which home is in use, and moving one to a bucket."""

from __future__ import annotations

import click

from zenprovision.cli.output import info, plain, print_json
from zenprovision.cli.table import print_table


@click.group("home")
def home_group() -> None:
    """Show the home in use, or copy this machine's home into a shared one (home push URL)."""


@home_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def home_show(as_json: bool) -> None:
    """Show where shared records, this machine's files and Pulumi state live."""
    from zenprovision import home
    from zenprovision.engines.pulumi_cli import backend

    found = home.configured_shared()
    shown = {"home": home.shared().url, "from": found[1] if found else "this machine's folder",
             "local": str(home.home()), "pulumi_backend": backend.resolve()}
    if as_json:
        print_json(shown)
        return
    print_table(("what", "where"), [(key, value) for key, value in shown.items()])


@home_group.command("push")
@click.argument("url", metavar="URL")
@click.option("--dry-run", is_flag=True, help="List what would be copied; copy nothing.")
def home_push(url: str, dry_run: bool) -> None:
    """Copy this machine's stack configs, registry, history and state (and a file:// Pulumi
    backend, to URL/pulumi) into the home at URL; never overwrites anything newer there.

    Locks, logs, run metadata, local-recipe data and settings stay here. Afterwards use the
    shared home with ZENPROVISION_HOME=URL, `--home URL` or `home: URL` in settings.yaml.
    """
    from zenprovision import home, home_push
    from zenprovision.errors import InputError
    from zenprovision.homes.location import parse
    from zenprovision.homes.objects import open_home

    source = home.shared().path or home.home()
    target = parse(url, source="URL")
    if target.path is not None and target.path == source:
        raise InputError(f"{url} is this home itself", hint="push to an s3://, gs:// or other folder home")
    store = open_home(target)
    if dry_run:
        items = home_push.plan(source, store)
        print_table(("action", "document"), [(item.action, item.key) for item in items])
        info(f"dry run: {sum(i.writes for i in items)} of {len(items)} document(s) would be copied to {plain(target)}")
        return
    import contextlib

    from zenprovision.locks.files import FileStackLock  # the source is a folder home

    with contextlib.ExitStack() as held:  # no deploy or destroy changes a stack while it is copied
        for stack in home_push.stacks(source):
            held.enter_context(FileStackLock(stack))
        items = home_push.plan(source, store)
        written = home_push.push(items, store)
    info(plain(f"Pushed {written} document(s) from {source} to {target} ({len(items) - written} already there). "
               f"Use it with ZENPROVISION_HOME={target}, --home {target} or `home: {target}` in settings.yaml."))


COMMANDS = [home_group]
