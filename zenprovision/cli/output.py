"""Console output and error handling shared by all commands.

Data (tables, JSON, YAML) goes to stdout; progress, warnings and errors to stderr.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from zenprovision.errors import ZenProvisionError

# json, traceback and the extras table are imported where they are used: `provision --help`
# and `provision stacks` never need them (issue 15, item 3).

_consoles: dict[str, Any] = {}


def console(stderr: bool = False):
    """A rich console, created on first use (rich costs start-up time)."""
    key = "err" if stderr else "out"
    if key not in _consoles:
        from rich.console import Console

        stream = sys.stderr if stderr else sys.stdout
        width = None if stream.isatty() else 200  # piped tables keep ids and paths whole
        _consoles[key] = Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)
    return _consoles[key]


def info(message: str) -> None:
    console(stderr=True).print(message)


def warn(message: str) -> None:
    """``message`` is text (a path, a provider's error), never rich markup: ``[/x]`` and ``[secret]`` show as they are."""
    console(stderr=True).print(f"[yellow]warning:[/] {plain(message)}", markup=True)


def plain(text: object) -> str:
    """``text`` escaped for a rich markup string: brackets in data are shown, not read as tags."""
    from rich.markup import escape

    return escape(str(text))


def print_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, default=str))


def run_guarded(group: click.Group) -> int:
    """Run the CLI; every error becomes one line with a hint and the right exit code."""
    verbose = "--verbose" in sys.argv or "-v" in sys.argv[1:2]
    try:
        code = group.main(standalone_mode=False)  # click returns Exit's code here
        return code if isinstance(code, int) else 0
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):  # click wraps Ctrl-C
            click.echo("Interrupted; what finished is recorded. Run the command again to converge.", err=True)
            return 130
        click.echo("Aborted; nothing was changed.", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        # with --detailed-exitcode, 2 means "changes": every error must be 1
        return 1 if "--detailed-exitcode" in sys.argv else exc.exit_code
    except ZenProvisionError as exc:
        if verbose:
            _print_traceback()
        hint = f" ({exc.hint})" if exc.hint else ""
        click.echo(_scrubbed(f"Error: {exc.message}{hint}"), err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # a bug or an unexpected environment: one line, traceback on request
        if verbose:
            _print_traceback()
        from zenprovision.extras import missing_extra

        missing = missing_extra(exc)  # an optional package that is not installed: name its extra
        if missing is not None:
            click.echo(f"Error: {missing}", err=True)
            return missing.exit_code
        click.echo(_scrubbed(f"Error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)"), err=True)
        return 1


def _scrubbed(line: str) -> str:
    """An error line with secrets masked: messages may quote what a provider or step was given."""
    from zenprovision.stacks.secrets import scrub_text

    return scrub_text(line)


def _print_traceback() -> None:
    from zenprovision.stacks.secrets import scrubbed_traceback

    click.echo(scrubbed_traceback(), err=True, nl=False)
