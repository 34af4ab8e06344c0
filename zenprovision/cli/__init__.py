"""The ``provision`` command line (also installed as ``zenprovision``).

Only click is imported at start-up; each command imports what it needs, so ``--help`` and
``provision stacks`` stay fast and never load a cloud SDK.
"""

from __future__ import annotations

import sys

import click

from zenprovision.cli import (
    authoring_cmds,
    catalog_cmds,
    completion,
    deploy_cmds,
    doctor_cmds,
    run_cmds,
    stack_cmds,
    sweep_cmds,
    teardown_cmds,
)
from zenprovision.cli.output import run_guarded


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and engine details.")
@click.version_option(package_name="zenprovision")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Provision MLOps stacks from recipes, and tear them down again.

    Stacks, state and locks live under $ZENPROVISION_HOME.
    """
    ctx.obj = {"verbose": verbose}


for module in (catalog_cmds, deploy_cmds, stack_cmds, run_cmds, doctor_cmds, authoring_cmds, teardown_cmds,
               sweep_cmds, completion):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    sys.exit(run_guarded(cli))
