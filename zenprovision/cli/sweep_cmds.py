"""``provision sweep``: find cloud resources tagged by zenprovision whose stack is gone."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from zenprovision.cli.output import console, info, print_json, warn

if TYPE_CHECKING:
    from zenprovision.sweep.aws_session import AwsTarget
    from zenprovision.sweep.model import Candidates


@click.command("sweep")
@click.option("--cloud", required=True, metavar="CLOUD", help="The cloud to sweep; only aws so far.")
@click.option("--region", "regions", multiple=True, metavar="REGION",
              help="A region to sweep; repeatable. Default: AWS_REGION, AWS_DEFAULT_REGION or the profile's.")
@click.option("--delete", is_flag=True, help="Delete what was found (default: only list it).")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--endpoint-url", envvar="ZENPROVISION_AWS_ENDPOINT_URL", metavar="URL",
              help="Send every AWS call to this endpoint (moto, LocalStack). "
                   "Env: ZENPROVISION_AWS_ENDPOINT_URL.")
def sweep_command(cloud: str, regions: tuple[str, ...], delete: bool, yes: bool, as_json: bool,
                  endpoint_url: str | None) -> None:
    """List resources tagged zenprovision:stack whose stack is not registered; --delete removes them.

    Untagged resources and resources of registered stacks are never touched. Credentials
    come from the environment. Exits 1 if a deletion it attempted failed.
    """
    from zenprovision.errors import InputError, UnsupportedError

    if cloud.strip().lower() != "aws":
        raise UnsupportedError(f"cannot sweep {cloud!r}: only aws is supported so far",
                               hint="use --cloud aws")
    if delete and not yes and not (sys.stdin and sys.stdin.isatty()):
        raise InputError("refusing to delete without confirmation: there is no terminal to ask on",
                         hint="run without --delete to list, or add --yes to delete without asking")
    from zenprovision.stacks.registry import registered_names
    from zenprovision.sweep import aws_find, aws_session, candidates

    target = aws_session.connect(regions, endpoint_url)
    findings = aws_find.find_tagged(target)
    found = candidates.pick(findings.resources, registered_names())  # computed once, never extended
    for message in findings.warnings:
        warn(message)
    _show_found(found, target.regions, print_rows=not (as_json and delete), as_json=as_json)
    if not found.orphans:
        return
    if not delete:
        info("Dry run: nothing was changed. Run again with --delete to delete them.")
        return
    question = f"Delete these {len(found.orphans)} resources?"
    if not yes and not click.confirm(question, default=False, err=True):
        raise click.exceptions.Abort()
    _delete(target, found, as_json)


def _show_found(found: Candidates, regions: tuple[str, ...], print_rows: bool, as_json: bool) -> None:
    """The candidates on stdout (a table or JSON); what they were judged against on stderr."""
    from zenprovision import home
    from zenprovision.sweep.report import found_rows, found_table, kept_summary

    if found.kept:
        info(_plain(kept_summary(found.kept)))
    if print_rows and as_json:
        print_json(found_rows(found))
    elif print_rows and found.orphans:
        console().print(found_table(found))
    where = f"in {', '.join(regions)} (and IAM)"
    if not found.orphans:
        info(f"No orphans {where}: every resource tagged zenprovision:stack belongs to a registered stack.")
        return
    info(_plain(f"{len(found.orphans)} orphan(s) {where}, judged against the {len(found.registered)} "
                f"stack(s) registered in {home.shared()}."))
    if not found.registered:
        warn("this home knows no stacks, so every tagged resource counts as an orphan: "
             "make sure it is the home your stacks were deployed from")


def _delete(target: AwsTarget, found: Candidates, as_json: bool) -> None:
    """Delete the candidates (re-reading the registry first), report, exit 1 on any failure."""
    from zenprovision.errors import OperationFailed
    from zenprovision.stacks.registry import registered_names
    from zenprovision.sweep import aws_delete
    from zenprovision.sweep.report import outcome_rows, outcome_table

    report = aws_delete.delete_all(target, found, registered_names(),
                                   progress=lambda text: info(_plain(text)))
    if as_json:
        print_json(outcome_rows(report))
    else:
        console().print(outcome_table(report))
    info(f"Deleted {len(report.deleted)}, left {len(report.left)} ({len(report.failed)} failed).")
    if report.failed:
        raise OperationFailed(f"{len(report.failed)} resource(s) could not be deleted",
                              hint="see the reasons above, fix them and run the sweep again")


def _plain(text: str) -> str:
    """Cloud names and AWS messages may hold ``[``: never let rich read them as markup."""
    from rich.markup import escape

    return escape(text)


COMMANDS = [sweep_command]
