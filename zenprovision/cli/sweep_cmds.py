"""``provision sweep``: find cloud resources tagged by zenprovision whose stack is gone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from zenprovision.cli.output import console, info, print_json, warn

if TYPE_CHECKING:
    from zenprovision.sweep.model import Candidates


@click.command("sweep")
@click.option("--cloud", required=True, metavar="CLOUD", help="The cloud to sweep; only aws so far.")
@click.option("--region", "regions", multiple=True, metavar="REGION",
              help="A region to sweep; repeatable. Default: AWS_REGION / AWS_DEFAULT_REGION or the profile's.")
@click.option("--delete", is_flag=True, help="Delete what was found (default: only list it).")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--endpoint-url", envvar="ZENPROVISION_AWS_ENDPOINT_URL", metavar="URL",
              help="Send every AWS call to this endpoint (moto, LocalStack). Env: ZENPROVISION_AWS_ENDPOINT_URL.")
def sweep_command(cloud: str, regions: tuple[str, ...], delete: bool, yes: bool, as_json: bool,
                  endpoint_url: str | None) -> None:
    """List resources tagged zenprovision:stack whose stack is not registered; --delete removes them.

    Untagged resources and resources of registered stacks are never touched. Credentials
    come from the environment. Exits 1 if a deletion it attempted failed.
    """
    from zenprovision.errors import InputError, OperationFailed, UnsupportedError

    if cloud.strip().lower() != "aws":
        raise UnsupportedError(f"cannot sweep {cloud!r}: only aws is supported so far", hint="use --cloud aws")
    if delete and not yes and not click.get_text_stream("stdin").isatty():
        raise InputError("refusing to delete without confirmation: there is no terminal to ask on",
                         hint="run without --delete to list, or add --yes to delete without asking")
    from zenprovision.stacks.registry import registered_names
    from zenprovision.sweep import aws_delete, aws_find, aws_session, candidates

    target = aws_session.connect(regions, endpoint_url)
    findings = aws_find.find_tagged(target)
    found = candidates.pick(findings.resources, registered_names())
    _show_found(found, findings.warnings, target.regions, as_json and not delete)
    if not delete or not found.orphans:
        if found.orphans:
            info("Dry run: nothing was changed. Run again with --delete to delete them.")
        return
    if not yes and not click.confirm(f"Delete these {len(found.orphans)} resources?", default=False, err=True):
        raise click.exceptions.Abort()
    report = aws_delete.delete_all(target, found, registered_names(), progress=info)
    if as_json:
        from zenprovision.sweep.report import outcome_rows

        print_json(outcome_rows(report))
    else:
        from zenprovision.sweep.report import outcome_table

        console().print(outcome_table(report))
    info(f"Deleted {len(report.deleted)}, left {len(report.left)} ({len(report.failed)} failed).")
    if report.failed:
        raise OperationFailed(f"{len(report.failed)} resource(s) could not be deleted",
                              hint="see the reasons above, fix them and run the sweep again")


def _show_found(found: Candidates, warnings: list[str], regions: tuple[str, ...], as_json: bool) -> None:
    """The candidates on stdout (table or JSON); context and warnings on stderr."""
    from zenprovision import home
    from zenprovision.sweep.report import found_rows, found_table, kept_summary

    for message in warnings:
        warn(message)
    if found.kept:
        info(kept_summary(found.kept))
    if as_json:
        print_json(found_rows(found))
    elif found.orphans:
        console().print(found_table(found))
    where = f"in {', '.join(regions)} (and IAM)"
    if not found.orphans:
        info(f"No orphans {where}: every resource tagged zenprovision:stack belongs to a registered stack.")
        return
    info(f"{len(found.orphans)} orphan(s) {where}, judged against the {len(found.registered)} stack(s) "
         f"registered in {home.home()}.")
    if not found.registered:
        warn("this home knows no stacks, so every tagged resource counts as an orphan: "
             "make sure it is the home your stacks were deployed from")


COMMANDS = [sweep_command]
