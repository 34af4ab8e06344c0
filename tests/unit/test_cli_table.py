"""Plain tables print exactly what rich's box-less table prints, and fall back to rich when they cannot."""

import io
import types

import pytest
from rich.console import Console
from rich.table import Table

from zenprovision.cli import output
from zenprovision.cli import table as plain

HEADERS = ("name", "recipe", "ttl", "last operation")
ROWS = [("dev", "local", "", "up succeeded"), ("production-x", "aws-k8s", "8h (expired)", "")]


def _rich(headers, rows) -> str:
    out = io.StringIO()
    table = Table(*headers, box=None)
    for row in rows:
        table.add_row(*row)
    Console(file=out, highlight=False, soft_wrap=True, width=200).print(table)
    return out.getvalue()


@pytest.mark.parametrize("rows", [ROWS, [], [("a", "b", "c", "d")]])
def test_the_plain_table_is_rich_s_table(capsys, rows):
    plain.print_table(HEADERS, rows)
    assert capsys.readouterr().out == _rich(HEADERS, rows)


def test_markup_and_wide_text_go_through_rich(capsys, monkeypatch):
    used = []
    monkeypatch.setattr(plain, "_rich_table", lambda headers, rows: used.append(rows))
    plain.print_table(HEADERS, [("dev", "[bold]x[/]", "", "")])
    plain.print_table(HEADERS, [("dev", "naïve", "", "")])
    assert len(used) == 2 and capsys.readouterr().out == ""


def test_a_table_wider_than_the_terminal_goes_through_rich(monkeypatch):
    used = []
    monkeypatch.setattr(plain, "_rich_table", lambda headers, rows: used.append(rows))
    monkeypatch.setattr(plain, "sys", types.SimpleNamespace(stdout=types.SimpleNamespace(isatty=lambda: True)))
    monkeypatch.setattr(plain, "_terminal_width", lambda: 80)
    plain.print_table(HEADERS, [("dev", "x" * 100, "", "")])
    assert len(used) == 1


@pytest.mark.parametrize("path", ["/tmp/" + "x" * 300, "/tmp/" + "é" * 300, "/tmp/[" + "x" * 300])
def test_a_piped_table_keeps_long_paths_whole(capsys, monkeypatch, path):
    """Piped, a table is data: a path as long as the machine's home or TMPDIR makes it is never cut."""
    monkeypatch.setattr(output, "_consoles", {})
    plain.print_table(("what", "where"), [("home", path), ("from", "this machine's folder")])
    out = capsys.readouterr().out
    assert path in out and "…" not in out
