"""``provision stacks`` and ``provision output``: the stack registry."""

from __future__ import annotations

import click

from zenprovision.cli.output import console, print_json


@click.command("stacks")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def stacks_command(as_json: bool) -> None:
    """List deployed stacks."""
    from zenprovision.stacks import store

    rows = []
    for name in store.names():
        config = store.load(name)
        rows.append({
            "name": config.name, "recipe": config.recipe, "engine": config.engine,
            "env": config.labels.env, "owner": config.labels.owner,
            "created_at": config.created_at.isoformat(),
            "components": {k: v["flavor"] for k, v in config.components.model_dump(exclude_none=True).items()},
        })
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No stacks. Deploy one with `provision recipe local --stack dev`.", err=True)
        return
    from rich.table import Table

    table = Table("name", "recipe", "engine", "env", "owner", "created", box=None)
    for row in rows:
        table.add_row(row["name"], row["recipe"], row["engine"], row["env"], row["owner"], row["created_at"][:19])
    console().print(table)


@click.command("output")
@click.argument("stack")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def output_command(stack: str, fmt: str) -> None:
    """Print the stack config of STACK."""
    from zenprovision.stacks import store

    document = store.load(stack).to_document()
    if fmt == "json":
        print_json(document)
    else:
        import yaml

        click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)


COMMANDS = [stacks_command, output_command]
