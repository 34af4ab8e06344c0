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
    from rich.text import Text

    table = Table("name", "cloud", "engine", "components", "description", box=None)
    for recipe in catalog.all():  # a recipe's text is text, never rich markup (`zenprovision[local]`)
        components = ", ".join(f"{k}={v}" for k, v in recipe.components.items())
        table.add_row(*(Text(cell) for cell in (recipe.name, recipe.cloud, recipe.engine, components,
                                                 recipe.description)))
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
    from rich.text import Text

    out = console()  # below, a recipe's own text is printed as text, never as rich markup
    out.print(Text(recipe.name, style="bold"), Text(f"({recipe.cloud}, engine {recipe.engine})"))
    out.print(recipe.description, markup=False)
    out.print(f"source: {recipe.path}", markup=False)
    table = Table("config key", "type", "default", "description", box=None)
    for key in recipe.config.values():
        default = "(required)" if key.required else repr(key.default)
        rule = "" if key.allowed() == "any value" else f" ({key.allowed()})"
        table.add_row(*(Text(str(cell)) for cell in (key.name, key.type, default, key.description + rule)))
    out.print(table)
    out.print("components: " + ", ".join(f"{k}={v}" for k, v in recipe.components.items()), markup=False)
    out.print("prerequisites: " + ("; ".join(recipe.prerequisites) or "none"), markup=False)


COMMANDS = [recipes_command, describe_command]
