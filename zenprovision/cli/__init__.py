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


def _check_home(given: str | None) -> None:
    """A home that is a file, or a URL that names no usable bucket, is one clear line up front.

    ``--home`` goes into the environment, so the engine's subprocesses use the same home.
    """
    import os

    from zenprovision import home
    from zenprovision.errors import InputError

    if given is not None:
        if not given.strip():
            raise InputError("--home is empty", hint="give a folder, s3://bucket/prefix or gs://bucket/prefix")
        if home.is_url(given):
            from zenprovision.homes.location import parse

            parse(given, source="--home")  # named as the user gave it
        os.environ[home.HOME_ENV] = given.strip()
    folder = home.home()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"the zenprovision home {folder} is not a folder",
                         hint=f"point {home.HOME_ENV} at a folder, or move the file away")
    home.shared()  # a bad URL is refused here, before any command reads or writes


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and engine details.")
@click.option("--home", "home_url", metavar="FOLDER|URL",
              help="The home: a folder, or s3://bucket/prefix or gs://bucket/prefix shared by a team "
                   "(default: $ZENPROVISION_HOME, else `home:` in settings.yaml, else this machine's folder).")
@click.version_option(package_name="zenprovision")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, home_url: str | None) -> None:
    """Provision MLOps stacks from recipes, and tear them down again.

    Stack configs, the registry and engine state live in the home ($ZENPROVISION_HOME or
    --home: a folder, or a bucket a team shares); caches, logs and local data stay on this
    machine. See `provision home show`.
    """
    ctx.obj = {"verbose": verbose}
    _check_home(home_url)


def main() -> None:
    import signal

    # SIGTERM (a CI job cancelled, `timeout`, a service stopping) stops a command as Ctrl-C does:
    # its engine worker finishes the operation in flight, and the stack's record says so.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(run_guarded(cli))
