"""``provision new`` and ``provision recipe-test``: writing recipes and checking them."""

from __future__ import annotations

from pathlib import Path

import click

from zenprovision.cli.catalog_cmds import load_catalog
from zenprovision.cli.output import info, plain, print_json
from zenprovision.errors import InputError


@click.command("new")
@click.argument("name")
@click.option("--cloud", type=click.Choice(["aws", "gcp", "local"]), required=True, help="Where the stack runs.")
@click.option("--component", "components", multiple=True, metavar="KIND=FLAVOR",
              help="Choose a flavor, e.g. container_registry=none; repeatable.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder to create the recipe folder in.")
@click.option("--no-input", is_flag=True, help="Ask nothing; use the template's defaults.")
@click.option("--force", is_flag=True, help="Overwrite an existing folder of that name.")
def new_command(name: str, cloud: str, components: tuple[str, ...], output_dir: Path, no_input: bool,
                force: bool) -> None:
    """Create recipe NAME from the template: Pulumi.yaml, program, recipe.yaml, README, tests."""
    from zenprovision.authoring import generate

    generate(name, cloud, components, output_dir, force=force, ask=None if no_input else _ask)


def _ask(question: str, default: str) -> str:
    """One of the template's questions, on stderr: stdout is the command's data. Input that ends
    before the answers (a script, CI) is a usage error that names --no-input; a Ctrl-C aborts."""
    try:
        answer = click.prompt(question, default=default, err=True)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, EOFError):
            click.echo(err=True)  # end the question's line
            raise InputError(f"no answer to {question!r}: the input ended",
                             hint="answer the questions, or pass --no-input to take the defaults") from None
        raise
    try:
        answer.encode("utf-8")  # bytes the terminal's encoding could not read arrive as lone surrogates
    except UnicodeEncodeError:
        if not click.get_text_stream("stdin").isatty():
            click.echo(err=True)  # piped input is not echoed: end the question's line
        raise InputError(f"the answer to {question!r} is not valid text in the terminal's encoding",
                         hint="type it again in UTF-8") from None
    return answer


@click.command("recipe-test")
@click.argument("name")
@click.option("-c", "--config", "pairs", multiple=True, metavar="KEY=VALUE", help="Config for required keys.")
@click.option("--path", "paths", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Also look for recipes here.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def recipe_test_command(name: str, pairs: tuple[str, ...], paths: tuple[Path, ...], as_json: bool) -> None:
    """Run the conformance suite on recipe NAME under Pulumi mocks; exit 1 on a violation."""
    from zenprovision.recipes.schema import parse_assignments
    from zenprovision.testing.conformance import check_recipe

    report = check_recipe(load_catalog(paths).get(name), parse_assignments(pairs))
    if as_json:
        print_json(report.to_dict())
    else:
        info(plain(report.describe()))  # "[rule] resource: message": the rule's name is no markup
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.command("policy-pack")
@click.option("--list", "as_list", is_flag=True, help="List the policies instead.")
def policy_pack_command(as_list: bool) -> None:
    """Print the folder of zenprovision's Pulumi policy pack, for `pulumi preview --policy-pack`."""
    from zenprovision.policy import POLICIES, pack_path

    if as_list:
        for policy in POLICIES:
            click.echo(f"{policy.name:<30} {policy.description}")
        return
    click.echo(str(pack_path()))


COMMANDS = [new_command, recipe_test_command, policy_pack_command]
