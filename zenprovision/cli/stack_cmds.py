"""``provision stacks``, ``stacks show`` and ``output``: the stack registry."""

from __future__ import annotations

import click

from zenprovision.cli.completion import (
    complete_config_pairs,
    complete_output_keys,
    complete_recipes,
    complete_stacks,
)
from zenprovision.cli.output import info, plain, print_json, warn
from zenprovision.cli.table import print_table

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
    lines = []
    for row in rows:
        ttl = f"{row.ttl} (expired)" if row.expired else (row.ttl or "")
        lines.append((row.name, row.recipe, row.engine, row.env, row.owner, format_age(row.age), ttl, row.status,
                      f"{row.last_operation} {row.last_result}".strip()))
    print_table(("name", "recipe", "engine", "env", "owner", "age", "ttl", "status", "last operation"), lines)


@stacks_group.command("show")
@click.argument("stack", shell_complete=complete_stacks)
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


@stacks_group.command("history")
@click.argument("stack", shell_complete=complete_stacks)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stacks_history(stack: str, as_json: bool) -> None:
    """Show every operation on STACK (who, which command, result), also those of its destroyed
    earlier deployments, oldest first."""
    from zenprovision.errors import CorruptFileError, NotFoundError
    from zenprovision.stacks import registry

    damaged: list[CorruptFileError] = []
    records = registry.history(stack, damaged=damaged)
    for problem in damaged:  # one line each; the readable records are still shown
        warn(f"{problem.message}; its operations are left out ({problem.hint})")
    if damaged and not records:
        raise CorruptFileError(f"stack {stack!r} has no readable record, only the damaged file(s) above",
                               hint=damaged[0].hint)
    if not records:
        from zenprovision.stacks import store

        if store.exists(stack):  # listed by `provision stacks`, from its config alone
            raise NotFoundError(f"stack {stack!r} has no recorded operations: its record "
                                f"{registry.documents.where(registry.record_key(stack))} is missing",
                                hint=f"the next `provision recipe {store.load(stack).recipe} --stack {stack}` or "
                                     f"`provision destroy {stack}` is recorded")
        raise NotFoundError(f"no stack named {stack!r} is registered or in the history",
                            hint="see `provision stacks`")
    rows = [op.model_dump(mode="json") for record in records for op in record.operations]
    if as_json:
        print_json(rows)
        return
    print_table(("started (UTC)", "operation", "result", "by", "command", "error"),  # a team shares it: not local time
                [(row["started"][:19].replace("T", " "), row["op"], row["result"], row["by"], row["command"],
                  (row["error"].splitlines() or [""])[0][:80]) for row in rows])


@click.command("output")
@click.argument("stack", shell_complete=complete_stacks)
@click.argument("key", required=False, shell_complete=complete_output_keys)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="yaml", show_default=True,
              help="env: shell lines for eval; zenml: for `zenml stack import STACK -f FILE`; "
                   "metaflow: a Metaflow config.json.")
@click.option("--zenml-version", metavar="VERSION",
              help="ZenML version to write into a zenml export (default: the installed zenml's, else 0.98.0).")
@click.option("--plan", "recipe", metavar="RECIPE", shell_complete=complete_recipes,
              help="The stack RECIPE would deploy as STACK, from an offline plan (no Pulumi CLI, no "
                   "credentials): values known only after apply show as '(known after apply)'.")
@click.option("-c", "--config", "pairs", multiple=True, metavar="KEY=VALUE", shell_complete=complete_config_pairs,
              help="With --plan: a recipe config value; repeatable.")
def output_command(stack: str, key: str | None, fmt: str, zenml_version: str | None, recipe: str | None,
                   pairs: tuple[str, ...]) -> None:
    """Print the stack config of STACK, one value of it (KEY), or an export for another tool.

    \b
    provision output dev artifact_store.config.bucket    # the raw value, for scripts
    eval "$(provision output dev --format env)"           # boto3, s3fs, gcsfs, kubectl see the stack
    provision output dev --plan aws-k8s                    # before anyone pays for it
    """
    from zenprovision.errors import InputError

    if pairs and not recipe:
        raise InputError("-c/--config goes with --plan RECIPE", hint="a deployed stack's config is fixed; "
                         f"redeploy it with `provision recipe RECIPE --stack {stack} -c ...`")
    config = _planned_config(stack, recipe, pairs) if recipe else _deployed_config(stack)
    if key is not None:
        _print_value(config, key, fmt)
    else:
        _print_document(config, fmt, zenml_version)


def _deployed_config(stack: str):
    from zenprovision.stacks import store

    return store.load(stack)


def _planned_config(stack: str, recipe: str, pairs: tuple[str, ...]):
    """The stack config RECIPE would write, built from an offline plan's `stack` output."""
    from datetime import datetime, timezone

    from zenprovision import lifecycle
    from zenprovision.cli.catalog_cmds import load_catalog
    from zenprovision.errors import OperationFailed
    from zenprovision.stacks import paths
    from zenprovision.stacks.config import StackConfig
    from zenprovision.stacks.exports import UNKNOWN

    deployment = lifecycle.prepare(load_catalog(), recipe, stack, pairs, offline=True)
    components = lifecycle.plan(deployment).outputs.get("stack")
    if not isinstance(components, dict):
        raise OperationFailed(f"recipe {recipe!r} does not export a `stack` output",
                              hint="every recipe must pulumi.export('stack', {...components...})")
    # A redeploy keeps the stack's creation time (lifecycle.apply): so does its preview.
    created = deployment.existing.created_at if deployment.existing else datetime.now(timezone.utc)
    config = StackConfig(name=stack, recipe=recipe, engine=deployment.request.recipe.engine,
                         created_at=created, labels=deployment.labels, components=components)
    unknown = [k for k in paths.keys(config) if paths.lookup(config, k) == UNKNOWN]
    if unknown:
        info(f"[dim]planned, not deployed: {len(unknown)} value(s) known only after apply "
             f"({plain(', '.join(unknown[:3]))}{', ...' if len(unknown) > 3 else ''})[/]")
    return config


def _print_value(config, key: str, fmt: str) -> None:
    """A string raw (like `terraform output -raw`), anything else as JSON."""
    import json

    from zenprovision.errors import InputError
    from zenprovision.stacks import paths

    if fmt not in ("yaml", "json"):
        raise InputError(f"KEY prints one value of the stack config; --format {fmt} exports the whole stack",
                         hint=f"drop KEY, or drop --format {fmt}")
    value = paths.lookup(config, key)
    click.echo(value if isinstance(value, str) and fmt == "yaml" else json.dumps(value))


def _print_document(config, fmt: str, zenml_version: str | None) -> None:
    import yaml

    from zenprovision.stacks import exports

    if fmt == "json":
        print_json(config.to_document())
    elif fmt == "env":
        click.echo(exports.to_env(config), nl=False)
    elif fmt == "zenml":
        document, notes = exports.to_zenml(config, zenml_version)
        for note in notes:
            warn(note)
        click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
    elif fmt == "metaflow":
        print_json(exports.to_metaflow(config))
    else:
        click.echo(yaml.safe_dump(config.to_document(), sort_keys=False), nl=False)


COMMANDS = [stacks_group, output_command]
