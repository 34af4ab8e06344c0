"""The sweep's findings and results as rows (for --json) and rich tables, from the same data."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from zenprovision.sweep.model import Candidates, DeleteReport, FoundResource


def found_rows(candidates: Candidates) -> list[dict[str, Any]]:
    """The ``--json`` of a dry run: one {stack, type, arn, region, tags} per orphan."""
    return [resource.to_dict() for resource in candidates.orphans]


def outcome_rows(report: DeleteReport) -> list[dict[str, Any]]:
    """The ``--json`` after ``--delete``: the same rows, with ``result`` and, if left, ``reason``."""
    rows = [{**r.to_dict(), "result": "deleted"} for r in report.deleted]
    rows += [{**item.resource.to_dict(), "result": "left", "reason": item.reason} for item in report.left]
    return rows


def found_table(candidates: Candidates) -> Any:
    """Orphans grouped by stack: the stack's name once, then its resources."""
    from rich.markup import escape
    from rich.table import Table

    table = Table("stack", "type", "arn", "region", box=None)
    for stack, resources in groupby(candidates.orphans, key=lambda r: r.stack):
        if table.row_count:
            table.add_section()
        for index, resource in enumerate(resources):
            first = f"[bold]{escape(stack)}[/]" if index == 0 else ""
            table.add_row(first, *(escape(v) for v in (resource.type, resource.arn, resource.region)))
    return table


def outcome_table(report: DeleteReport) -> Any:
    """What was deleted and what was left, with the reason for each left resource."""
    from rich.markup import escape
    from rich.table import Table

    table = Table("result", "stack", "type", "arn", "reason", box=None)
    for resource in report.deleted:
        cells = (resource.stack, resource.type, resource.arn)
        table.add_row("[green]deleted[/]", *(escape(v) for v in cells), "")
    for item in report.left:
        cells = (item.resource.stack, item.resource.type, item.resource.arn, item.reason)
        table.add_row("[red]left[/]" if item.attempted else "[yellow]left[/]", *(escape(v) for v in cells))
    return table


def kept_summary(kept: tuple[FoundResource, ...]) -> str:
    """One line about tagged resources that were spared because their stack is registered."""
    stacks = sorted({resource.stack for resource in kept})
    return f"{len(kept)} tagged resource(s) belong to registered stacks and are kept: {', '.join(stacks)}"
