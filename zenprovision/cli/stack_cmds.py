"""``provision stacks``, ``stacks show`` and ``output``: the stack registry."""

from __future__ import annotations

import click

from zenprovision.cli.output import console, print_json, warn

FORMATS = ["yaml", "json", "env", "zenml", "metaflow"]


@click.group("stacks", invoke_without_command=True)
@click.option("--env", help="Only stacks with this env label.")
@click.option("--owner", help="Only stacks of this owner.")
@click.option("--expired", is_flag=True, help="Only stacks past their ttl.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def stacks_group(ctx: click.Context, env: str | None, owner: str | None, expired: bool, as_json: bool) -> None:
    """List deployed stacks: recipe, engine, env, owner, age, ttl, last operation."""
    if ctx.invoked_subcommand:
        return
    from zenprovision.stacks.overview import format_age, summaries

    rows = summaries(env=env, owner=owner, expired=expired)
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    if not rows:
        click.echo("No stacks. Deploy one with `provision recipe local --stack dev`.", err=True)
        return
    from rich.table import Table

    table = Table("name", "recipe", "engine", "env", "owner", "age", "ttl", "status", "last operation", box=None)
    for row in rows:
        ttl = f"{row.ttl} (expired)" if row.expired else (row.ttl or "")
        table.add_row(row.name, row.recipe, row.engine, row.env, row.owner, format_age(row.age), ttl, row.status,
                      f"{row.last_operation} {row.last_result}".strip())
    console().print(table)


@stacks_group.command("show")
@click.argument("stack")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stacks_show(stack: str, as_json: bool) -> None:
    """Show a stack's record (labels, status, operation history) and config."""
    from zenprovision.errors import NotFoundError
    from zenprovision.stacks import registry, store
    from zenprovision.stacks.overview import summarize

    if stack not in registry.registered_names():
        raise NotFoundError(f"no stack named {stack!r}", hint="see `provision stacks`")
    record = registry.load(stack)
    document = {
        "summary": summarize(stack).to_dict(),
        "operations": [op.model_dump(mode="json") for op in record.operations] if record else [],
        "config": store.load(stack).to_document() if store.exists(stack) else None,
    }
    if as_json:
        print_json(document)
        return
    import yaml

    click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)


@click.command("output")
@click.argument("stack")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="yaml", show_default=True,
              help="env: shell exports; zenml: for `zenml stack import`; metaflow: a Metaflow config.json.")
def output_command(stack: str, fmt: str) -> None:
    """Print the stack config of STACK, or an export of it for another tool."""
    import yaml

    from zenprovision.stacks import exports, store

    config = store.load(stack)
    if fmt == "json":
        print_json(config.to_document())
    elif fmt == "env":
        click.echo(exports.to_env(config), nl=False)
    elif fmt == "zenml":
        document, notes = exports.to_zenml(config)
        for note in notes:
            warn(note)
        click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
    elif fmt == "metaflow":
        print_json(exports.to_metaflow(config))
    else:
        click.echo(yaml.safe_dump(config.to_document(), sort_keys=False), nl=False)


COMMANDS = [stacks_group, output_command]
