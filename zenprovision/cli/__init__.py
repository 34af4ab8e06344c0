"""The ``provision`` command line (also installed as ``zenprovision``).

Only click is imported at start-up; a command's module is imported when that command runs
(``cli/lazy.py``), and each command imports what it needs, so ``--help`` and ``provision
stacks`` stay fast and never load a cloud SDK.
"""

from __future__ import annotations

import sys

import click

from zenprovision.cli.lazy import LazyGroup
from zenprovision.cli.output import run_guarded


class OneLineGroup(LazyGroup):
    """Usage errors in one line, like every other error: what is wrong, and where the help is."""

    def main(self, *args, **kwargs):  # type: ignore[override]
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `provision` alone shows the help
        except click.UsageError as exc:
            from zenprovision.errors import InputError

            where = exc.ctx.command_path if exc.ctx else "provision"
            message = " ".join(exc.format_message().split())
            error = InputError(message, hint=f"see `{where} --help`")
            if "--detailed-exitcode" in sys.argv:
                error.exit_code = 1  # there, 2 means "changes"
            raise error from exc


def _check_home() -> None:
    """A home that is a file gives a clear error, not a failure deep in some command."""
    from zenprovision import home
    from zenprovision.errors import InputError

    folder = home.home()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"the zenprovision home {folder} is not a folder",
                         hint=f"point {home.HOME_ENV} at a folder, or move the file away")


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and engine details.")
@click.version_option(package_name="zenprovision")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Provision MLOps stacks from recipes, and tear them down again.

    Stacks, state and locks live under $ZENPROVISION_HOME.
    """
    ctx.obj = {"verbose": verbose}
    _check_home()


def main() -> None:
    sys.exit(run_guarded(cli))
