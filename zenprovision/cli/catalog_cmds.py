"""``provision recipes`` and ``provision describe``: what can be deployed."""

from __future__ import annotations

from pathlib import Path

import click

from zenprovision.cli.completion import complete_recipes
from zenprovision.cli.output import console, print_json, warn


def load_catalog(paths=()):
    from zenprovision.recipes.catalog import Catalog

    catalog = Catalog(extra_paths=paths)
    for message in catalog.warnings:
        warn(message)
    return catalog


@click.command("recipes")
@click.option("--path", "paths", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Also look for recipes in this folder; repeatable (like ZENPROVISION_RECIPES_PATH).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def recipes_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """List the recipes: name, cloud, components, engine, description."""
    catalog = load_catalog(paths)
    if as_json:
        print_json([recipe.summary() for recipe in catalog.all()])
        return
    from rich.table import Table

    table = Table("name", "cloud", "engine", "components", "description", box=None)
    for recipe in catalog.all():
        components = ", ".join(f"{k}={v}" for k, v in recipe.components.items())
        table.add_row(recipe.name, recipe.cloud, recipe.engine, components, recipe.description)
    console().print(table)


@click.command("describe")
@click.argument("name", shell_complete=complete_recipes)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def describe_command(name: str, as_json: bool) -> None:
    """Show a recipe's config keys, components and prerequisites."""
    recipe = load_catalog().get(name)
    if as_json:
        print_json(recipe.details())
        return
    from rich.table import Table

    out = console()
    out.print(f"[bold]{recipe.name}[/] ({recipe.cloud}, engine {recipe.engine})")
    out.print(recipe.description)
    out.print(f"source: {recipe.path}")
    table = Table("config key", "type", "default", "description", box=None)
    for key in recipe.config.values():
        default = "(required)" if key.required else repr(key.default)
        rule = "" if key.allowed() == "any value" else f" ({key.allowed()})"
        table.add_row(key.name, key.type, default, key.description + rule)
    out.print(table)
    out.print("components: " + ", ".join(f"{k}={v}" for k, v in recipe.components.items()))
    out.print("prerequisites: " + ("; ".join(recipe.prerequisites) or "none"))


COMMANDS = [recipes_command, describe_command]
