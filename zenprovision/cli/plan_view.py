"""Showing plans and progress: Terraform-like symbols, one line per resource."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from zenprovision.cli.output import console
from zenprovision.cli.progress import SYMBOLS, Progress

__all__ = ["Progress", "show_drift", "show_plan", "show_plan_graph"]


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
        return escape("changes: " + ", ".join(change.diffs))
    if change.op == "create":
        keys = [f"{k}={_short(v)}" for k, v in sorted(change.inputs.items())
                if v not in (None, "", {}, []) and k not in HIDDEN_INPUTS]
        return "[dim]" + escape(", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")) + "[/]"
    return ""


def _line(change: Any) -> str:
    return f"{SYMBOLS[change.op]} {escape(change.name)} [dim]({escape(short_type(change.type))})[/] {_detail(change)}"


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
    """The plan is the result of `provision plan`: stdout, like Terraform's."""
    out = console()
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


def plan_graph(plan: Any) -> Any:
    """Component -> resources, as the program nests them (providers and the stack left out)."""
    from zenprovision.graphs import Graph, Node

    shown = [c for c in plan.changes if not c.type.startswith("pulumi:providers:") and c.type != "pulumi:pulumi:Stack"]
    ids = {c.urn for c in shown}
    nodes = tuple(Node(c.urn, c.name, c.op if c.custom else "", detail=short_type(c.type), group=not c.custom)
                  for c in shown)
    return Graph(nodes, tuple((c.parent, c.urn) for c in shown if c.parent in ids))


def show_plan_graph(plan: Any, title: str, fmt: str) -> None:
    """`provision plan --graph`: what the recipe will build, drawn (stdout)."""
    import click

    from zenprovision import graphs

    graph = plan_graph(plan)
    text = {"mermaid": graphs.to_mermaid, "dot": lambda g: graphs.to_dot(g, name=title)}.get(
        fmt, lambda g: graphs.to_tree(g, title))(graph)
    click.echo(text, nl=False)


def show_drift(report: Any, stack: str) -> None:
    """What refresh found, on stdout (the result; progress went to stderr)."""
    out = console()
    if not report.missing and not report.changed:
        out.print(f"No drift: all {report.checked} resources of stack [bold]{stack}[/] are as recorded.")
        return
    for name in report.missing:
        out.print(f"  [red]-[/] {name}: gone (the next `provision recipe` re-creates it)")
    for name in report.changed:
        out.print(f"  [yellow]~[/] {name}: changed outside zenprovision (state updated)")
    out.print(f"Drift: {len(report.missing)} missing, {len(report.changed)} changed.")
