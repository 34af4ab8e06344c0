"""Plain tables print exactly what rich's box-less table prints, and fall back to rich when they cannot."""

import io

import pytest
from rich.console import Console
from rich.table import Table

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
    plain.print_table(HEADERS, [("dev", "x" * 300, "", "")])
    assert len(used) == 3 and capsys.readouterr().out == ""
