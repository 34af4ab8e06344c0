"""Box-less tables as rich prints them, without importing rich (a tenth of a listing's time).

Rich is still used where it does something this cannot: a table wider than the terminal
(wrapped), cells with non-ASCII text (wide characters) or with ``[``. Cells are text, never
rich markup: ``[secret]`` (a masked value) and ``zenprovision[local]`` show as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click


def _terminal_width() -> int:
    """shutil's answer; shutil (with its compression modules) is imported only for a terminal."""
    import shutil

    return shutil.get_terminal_size().columns


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """One line per row, columns padded as rich's ``Table(box=None)`` pads them."""
    cells = [list(headers), *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    tty = sys.stdout.isatty()
    # Piped, a table is data: never cut to a width (a home or TMPDIR path can be any length).
    wide = tty and sum(widths) + 2 * len(widths) > _terminal_width()
    if wide or not all(_plain(cell) for row in cells for cell in row):
        _rich_table(headers, rows)
        return
    for number, row in enumerate(cells):
        line = " " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " "
        click.echo(click.style(line, bold=True) if number == 0 and tty else line)


def _plain(cell: str) -> bool:
    return cell.isascii() and "[" not in cell and "\n" not in cell


def _rich_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.table import Table
    from rich.text import Text

    from zenprovision.cli.output import console

    table = Table(*headers, box=None)
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))
    out = console()
    if not sys.stdout.isatty():  # piped: as wide as the table, so rich cuts no cell short with "…"
        from rich.console import Console
        from rich.measure import Measurement

        needed = Measurement.get(out, out.options.update(width=10**6), table).maximum
        if needed > out.width:
            out = Console(file=out.file, highlight=False, soft_wrap=True, width=needed)
    out.print(table)
