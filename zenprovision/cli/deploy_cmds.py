"""``provision plan``, ``recipe`` (apply), ``refresh`` and ``destroy``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from zenprovision.cli.catalog_cmds import load_catalog
from zenprovision.cli.completion import complete_config_pairs, complete_recipes, complete_stacks
from zenprovision.cli.output import info, plain, print_json

if TYPE_CHECKING:
    from zenprovision.engines.embedded.engine import EmbeddedEngine

config_option = click.option(
    "-c", "--config", "pairs", multiple=True, metavar="KEY=VALUE",
    help="A recipe config value; repeatable. See `provision describe NAME`.", shell_complete=complete_config_pairs,
)
stack_option = click.option("--stack", "-s", required=True, help="Name of the stack.", shell_complete=complete_stacks)


backend_option = click.option(
    "--backend", envvar="ZENPROVISION_BACKEND", metavar="URL",
    help="Pulumi state backend for pulumi-engine recipes (file://, s3://, gs://, azblob://, https://api.pulumi.com); "
         "default: the home's pulumi folder (file:// for a folder home, s3://.../pulumi for a bucket home). "
         "A shared backend needs PULUMI_CONFIG_PASSPHRASE(_FILE). Env: ZENPROVISION_BACKEND.")
env_option = click.option("--env", default=None, help="Environment label (default: the stack's, else dev).")
owner_option = click.option("--owner", default=None, help="Owner label (default: the stack's, else the current user).")


@click.command("plan")
@click.argument("name", shell_complete=complete_recipes)
@stack_option
@config_option
@env_option
@owner_option
@backend_option
@click.option("--offline", is_flag=True, help="Plan with the embedded engine: no Pulumi CLI, no credentials.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 for no changes, 2 for changes, 1 on error.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--graph", type=click.Choice(["text", "mermaid", "dot"]), is_flag=False, flag_value="text", default=None,
              help="Draw the resource tree (component -> resources) instead: as a tree, or --graph mermaid|dot.")
def plan_command(name: str, stack: str, pairs: tuple[str, ...], env: str | None, owner: str | None, backend: str | None,
                 offline: bool, detailed_exitcode: bool, as_json: bool, graph: str | None) -> None:
    """Show what deploying recipe NAME as stack S would create, update, replace or delete.

    With --detailed-exitcode any error exits 1, so that 2 always means "changes".
    """
    from zenprovision import lifecycle
    from zenprovision.cli.plan_view import show_plan, show_plan_graph
    from zenprovision.errors import InputError, ZenProvisionError

    try:
        if as_json and graph:
            raise InputError("--json and --graph are two outputs", hint="choose one")
        deployment = lifecycle.prepare(load_catalog(), name, stack, pairs, env=env, owner=owner, offline=offline,
                                       backend=backend)
        planned = lifecycle.plan(deployment)
    except ZenProvisionError as exc:
        if detailed_exitcode:
            exc.exit_code = 1
        raise
    changed = planned.has_changes or lifecycle.config_changes(deployment, planned)
    if graph:
        show_plan_graph(planned, f"{name} -> stack {stack}", graph)
    elif as_json:
        print_json({"stack": stack, "recipe": name, "changes": [c.to_dict() for c in planned.changes],
                    "counts": planned.counts(), "applyable": planned.applyable, "has_changes": changed,
                    "outputs": planned.outputs, "policy": planned.policy})
    else:
        show_plan(planned, stack, grouped=offline)
        if not planned.applyable and not offline:
            info(f"[yellow]note:[/] this plan cannot be applied by the embedded engine: {plain(planned.reason)}")
    if detailed_exitcode and changed:
        raise click.exceptions.Exit(2)


@click.command("recipe")
@click.argument("name", shell_complete=complete_recipes)
@stack_option
@config_option
@env_option
@owner_option
@click.option("--ttl", metavar="DURATION", help="Expire after this long (30m, 8h, 3d, 2w); default from settings.yaml.")
@backend_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
def recipe_command(name: str, stack: str, pairs: tuple[str, ...], env: str | None, owner: str | None, ttl: str | None,
                   backend: str | None, yes: bool) -> None:
    """Deploy recipe NAME as stack S: plan, confirm, apply, write the stack config."""
    from zenprovision import lifecycle
    from zenprovision.locks import StackLock

    catalog = load_catalog()
    lifecycle.check_input(catalog, name, stack, pairs, env, owner, ttl)  # bad input writes nothing, not even the lock
    # Plan and apply under one lock: a plan made while a destroy runs would be stale.
    with StackLock(stack):
        _deploy(catalog, name, stack, pairs, env, owner, ttl, backend, yes)


def _deploy(catalog, name: str, stack: str, pairs: tuple[str, ...], env: str | None,  # noqa: ANN001 - a Catalog
            owner: str | None, ttl: str | None, backend: str | None, yes: bool) -> None:
    from zenprovision import lifecycle

    deployment = lifecycle.prepare(catalog, name, stack, pairs, env=env, owner=owner, backend=backend, ttl=ttl)
    deployment.engine.prepare_up(stack)  # the apply's worker gets ready while the plan runs
    try:
        _plan_and_apply(deployment, name, stack, yes)
    finally:
        deployment.engine.close()


def _plan_and_apply(deployment, name: str, stack: str, yes: bool) -> None:  # noqa: ANN001 - a lifecycle.Deployment
    from zenprovision import lifecycle
    from zenprovision.cli.plan_view import Progress, show_plan
    from zenprovision.errors import UnsupportedError
    from zenprovision.stacks import store

    planned = lifecycle.plan(deployment)
    if not planned.applyable:
        raise UnsupportedError(
            f"recipe {name!r} cannot be applied without the Pulumi CLI: {planned.reason}",
            hint=f"install the Pulumi CLI, or preview it with `provision plan {name} --stack {stack} --offline`",
        )
    if not planned.has_changes and not lifecycle.config_changes(deployment, planned):
        info(f"No changes. Stack [bold]{stack}[/] is up to date ({plain(store.where(stack))}).")
        return
    show_plan(planned, stack)
    if not yes and not click.confirm(f"Apply these changes to stack {stack!r}?", default=False, err=True):
        raise click.exceptions.Abort()
    result, config = lifecycle.apply(deployment, Progress())
    counts = ", ".join(f"{n} {op}d" if op != "same" else f"{n} unchanged"
                       for op, n in sorted(result.counts.items()) if n)
    info(f"Stack [bold]{stack}[/] is ready ({counts or 'no changes'}) in {result.seconds:.1f}s.")
    info(f"Stack config: {plain(store.where(stack))}")  # a home such as /data/[team]/zp: a path, not markup


@click.command("destroy")
@click.argument("stack", shell_complete=complete_stacks)
@backend_option
@click.option("--yes", "-y", is_flag=True, help="Destroy without asking for confirmation.")
@click.option("--force", is_flag=True,
              help="Required to destroy a stack with env prod; also aborts pipeline runs on the stack.")
@click.option("--confirm", metavar="STACK", help="The stack's name, instead of typing it at the prompt (prod).")
def destroy_command(stack: str, backend: str | None, yes: bool, force: bool, confirm: str | None) -> None:
    """Destroy everything stack STACK created, and unregister it.

    A prod stack needs --force and its name, typed at the prompt or given as --confirm.
    While a pipeline runs on the stack, destroy refuses, naming the run; --force aborts it.
    """
    from zenprovision.stacks.names import validate_stack_name

    validate_stack_name(stack)
    prepared = _prepare_destroy(stack)
    try:
        from zenprovision import lifecycle
        from zenprovision.cli.plan_view import Progress
        from zenprovision.stacks.labels import is_prod

        lifecycle.engine_of(stack, backend)  # an unknown stack is an error before any prompt
        env, _ = lifecycle.labels_of(stack)
        if is_prod(env):
            _confirm_prod(stack, force, confirm)
        elif not yes and not click.confirm(f"Destroy stack {stack!r} and all its resources?", default=False,
                                           err=True):
            raise click.exceptions.Abort()
        result = lifecycle.destroy(stack, Progress(), backend=backend, force=force, prepared=prepared)
    finally:
        if prepared is not None:
            prepared.close()
    info(f"Stack [bold]{stack}[/] destroyed ({result.counts.get('delete', 0)} resources deleted) in {result.seconds:.1f}s.")


def _prepare_destroy(stack: str) -> EmbeddedEngine | None:
    """A stack in the embedded engine's state gets its worker started first: its imports then
    overlap this command's (about a third of a local stack's destroy, issue 15). Any other
    stack, or one whose state cannot be read here, is left to ``lifecycle.destroy`` to judge."""
    from zenprovision.engines.embedded import state

    try:
        if not state.exists(stack):
            return None
    except Exception:  # noqa: BLE001 - lifecycle.destroy reports it, in its words
        return None
    from zenprovision.engines.embedded.engine import EmbeddedEngine

    engine = EmbeddedEngine()
    engine.prepare_destroy(stack)
    return engine


def _confirm_prod(stack: str, force: bool, confirm: str | None) -> None:
    from zenprovision.errors import InputError

    if not force:
        raise InputError(f"stack {stack!r} is a prod stack", hint=f"to destroy it: provision destroy {stack} --force")
    typed = confirm if confirm is not None else click.prompt(f"Type the stack's name ({stack}) to destroy it",
                                                             default="", show_default=False, err=True)
    if typed != stack:
        raise InputError(f"confirmation {typed!r} does not match the stack name {stack!r}; nothing was destroyed")


@click.command("refresh")
@click.argument("stack", shell_complete=complete_stacks)
@backend_option
def refresh_command(stack: str, backend: str | None) -> None:
    """Ask every resource of STACK whether it still exists as recorded; report drift."""
    from zenprovision import lifecycle
    from zenprovision.cli.plan_view import Progress, show_drift

    show_drift(lifecycle.refresh(stack, Progress(), backend=backend), stack)


COMMANDS = [plan_command, recipe_command, destroy_command, refresh_command]
