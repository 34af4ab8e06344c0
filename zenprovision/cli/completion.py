"""Shell completion: stack names, recipe names, config keys, output keys; ``provision completion``.

Completion runs on every <TAB>, so each function reads only what it needs and never
fails: a broken home or recipe completes to nothing rather than a traceback.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")


def _quiet(find: Callable[[click.Context, str], list[CompletionItem]]):
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        try:
            return find(ctx, incomplete)
        except Exception:  # a completion must never print a traceback into the user's prompt
            return []

    return complete


@_quiet
def complete_stacks(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    """Stacks with a config or a registry record (an interrupted deploy has only the latter)."""
    from zenprovision.stacks import registry, store

    names = sorted(set(store.names()) | registry.registered_names())
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


@_quiet
def complete_recipes(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    from zenprovision.recipes.catalog import Catalog

    catalog = Catalog()
    return [CompletionItem(r.name, help=r.description) for r in catalog.all() if r.name.startswith(incomplete)]


@_quiet
def complete_config_pairs(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    """``KEY=`` for the recipe named earlier on the line (``plan aws-k8s -c re<TAB>``)."""
    from zenprovision.recipes.catalog import Catalog

    # an option still waiting for its value leaves the positional NAME unparsed, in ctx.args
    recipe = ctx.params.get("name") or ctx.params.get("recipe") or next(iter(ctx.args), None)
    if not recipe or "=" in incomplete:
        return []
    config = Catalog().get(recipe).config
    return [CompletionItem(f"{key.name}=", help=key.description) for key in config.values()
            if key.name.startswith(incomplete)]


@_quiet
def complete_output_keys(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    """Dotted keys of the deployed stack named earlier on the line."""
    from zenprovision.stacks import paths, store

    stack = ctx.params.get("stack")
    if not stack or not store.exists(stack):
        return []
    return [CompletionItem(key) for key in paths.keys(store.load(stack)) if key.startswith(incomplete)]


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.option("--prog-name", default="provision", show_default=True, type=click.Choice(["provision", "zenprovision"]),
              help="The command name to complete.")
@click.pass_context
def completion_command(ctx: click.Context, shell: str, prog_name: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash:  eval "$(provision completion bash)"        (in ~/.bashrc)
    zsh:   eval "$(provision completion zsh)"         (in ~/.zshrc)
    fish:  provision completion fish > ~/.config/fish/completions/provision.fish
    """
    from click.shell_completion import get_completion_class

    root = ctx.find_root().command
    complete_var = f"_{prog_name.upper()}_COMPLETE"
    script = get_completion_class(shell)(root, {}, prog_name, complete_var).source()
    click.echo(script)


COMMANDS = [completion_command]
