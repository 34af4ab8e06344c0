"""Showing plans and progress: Terraform-like symbols, one line per resource."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape

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


HIDDEN_INPUTS = {"tags", "labels", "resourceLabels", "apiVersion", "kind"}


def _short(value: Any, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _detail(change: Any) -> str:
    """The key inputs of a create, or the changed keys of an update."""
    if change.op in ("update", "replace") and change.diffs:
        return "changes: " + ", ".join(change.diffs)
    if change.op == "create":
        keys = [f"{k}={_short(v)}" for k, v in sorted(change.inputs.items())
                if v not in (None, "", {}, []) and k not in HIDDEN_INPUTS]
        return "[dim]" + ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "") + "[/]"
    return ""


def _line(change: Any) -> str:
    return f"{SYMBOLS[change.op]} {change.name} [dim]({short_type(change.type)})[/] {_detail(change)}"


def _top_component(change: Any, by_urn: dict[str, Any]) -> str:
    """The component a resource belongs to, at the top of the program (or "stack")."""
    current = change
    while current.parent and current.parent.split("::")[-2].split("$")[-1] != "pulumi:pulumi:Stack":
        parent = by_urn.get(current.parent)
        if parent is None:
            break
        current = parent
    return current.name if current is not change else "stack"


def show_plan(plan: Any, stack: str, show_same: bool = False, grouped: bool = False) -> None:
    out = console(stderr=True)
    out.print(f"Plan for stack [bold]{stack}[/]:")
    shown = [c for c in plan.changes if c.custom and (c.op != "same" or show_same)]
    if grouped:
        by_urn = {c.urn: c for c in plan.changes}
        groups: dict[str, list[Any]] = {}
        for change in shown:
            groups.setdefault(_top_component(change, by_urn), []).append(change)
        for group, changes in groups.items():
            out.print(f"  [bold]{group}[/]")
            for change in changes:
                out.print(f"    {_line(change)}")
    else:
        for change in shown:
            out.print(f"  {_line(change)}")
    counts = plan.counts()
    out.print(
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, {counts['same']} unchanged."
    )
    show_policy(plan.policy, out)


def show_policy(found: list[dict[str, str]], out: Any) -> None:
    """Policy pack violations, one line each; Pulumi would refuse such an update."""
    if not found:
        return
    out.print(f"[yellow]Policy:[/] {len(found)} violation(s) of the zenprovision policy pack "
              "(a Pulumi update with the pack would be refused):")
    for item in found:
        line = "[{policy}] {resource}: {message}".format(**item)
        out.print(f"  [yellow]![/] {escape(line)}")


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
