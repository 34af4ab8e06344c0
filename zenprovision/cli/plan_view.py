"""Showing plans and progress: Terraform-like symbols, one line per resource."""

from __future__ import annotations

import time
from typing import Any

from zenprovision.cli.output import console

SYMBOLS = {"create": "[green]+[/]", "update": "[yellow]~[/]", "replace": "[magenta]+-[/]",
           "delete": "[red]-[/]", "same": " "}
PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted"}


def short_type(type_: str) -> str:
    """``pulumi-python:dynamic/local:Folder`` -> ``local:Folder``."""
    if type_.startswith("pulumi-python:dynamic"):
        rest = type_.split(":", 1)[1].removeprefix("dynamic").lstrip("/")
        return rest or "dynamic:Resource"
    return type_


def _detail(change: Any) -> str:
    if change.op in ("update", "replace") and change.diffs:
        return "changes: " + ", ".join(change.diffs)
    if change.op == "create":
        keys = [f"{k}={v}" for k, v in change.inputs.items() if v not in (None, "", {}, [])]
        return ", ".join(keys)[:100]
    return ""


def show_plan(plan: Any, stack: str, show_same: bool = False) -> None:
    out = console(stderr=True)
    out.print(f"Plan for stack [bold]{stack}[/]:")
    for change in plan.changes:
        if not change.custom or (change.op == "same" and not show_same):
            continue
        out.print(f"  {SYMBOLS[change.op]} {change.name} [dim]({short_type(change.type)})[/] {_detail(change)}")
    counts = plan.counts()
    out.print(
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, {counts['same']} unchanged."
    )


class Progress:
    """Prints each resource as its operation finishes, with the time it took."""

    def __init__(self) -> None:
        self.out = console(stderr=True)
        self.started = time.monotonic()

    def __call__(self, event: Any) -> None:
        if event.kind == "resource-pre":
            self.out.print(f"  {SYMBOLS.get(event.op, ' ')} {event.name} [dim]{event.op}...[/]")
        elif event.kind == "resource-done":
            verb = PAST.get(event.op, event.op)
            self.out.print(f"  {SYMBOLS.get(event.op, ' ')} {event.name} {verb} [dim]in {event.seconds:.1f}s[/]")
        elif event.kind == "resource-failed":
            self.out.print(f"  [red]x[/] {event.name} {event.op} failed: {event.message}")
        elif event.kind == "diagnostic":
            self.out.print(f"  [yellow]![/] {event.message}")
