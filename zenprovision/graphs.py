"""Graphs drawn for people: a run's step DAG or a recipe's resource tree.

One small model (nodes with a status and a duration, directed edges) and three renderers:
boxes (or a tree) for the terminal, Mermaid for Markdown and notebooks, Graphviz DOT.
Pure text in, text out: no terminal library, so output is exact and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKS = {"succeeded": "✓", "cached": "↺", "failed": "✗", "aborted": "✗", "skipped": "-", "running": ">",
         "create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}
COLORS = {"succeeded": "#d4edda", "cached": "#d1ecf1", "failed": "#f8d7da", "aborted": "#f8d7da",
          "skipped": "#e2e3e5", "running": "#fff3cd", "create": "#d4edda", "update": "#fff3cd",
          "replace": "#f5d0fe", "delete": "#f8d7da"}
BOX_WIDTH = 34  # inner width limit of a terminal box


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    status: str = ""
    seconds: float | None = None
    detail: str = ""  # a type, a URI: one more line
    group: bool = False  # a component holding resources, not a resource itself


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]  # (from id, to id)

    def upstream(self, node_id: str) -> list[str]:
        return [a for a, b in self.edges if b == node_id]

    def downstream(self, node_id: str) -> list[str]:
        return [b for a, b in self.edges if a == node_id]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s"


def status_line(node: Node) -> str:
    parts = [MARKS.get(node.status, "?") if node.status else "", node.status, duration(node.seconds)]
    return " ".join(p for p in parts if p)


# --- terminal ----------------------------------------------------------------------------

def layers(graph: Graph) -> list[list[Node]]:
    """Nodes by depth (longest path from a root), in the graph's order within a layer."""
    depth: dict[str, int] = {}

    def depth_of(node_id: str, seen: frozenset[str] = frozenset()) -> int:
        if node_id not in depth:
            ups = [u for u in graph.upstream(node_id) if u not in seen]
            depth[node_id] = 1 + max((depth_of(u, seen | {node_id}) for u in ups), default=-1)
        return depth[node_id]

    out: list[list[Node]] = []
    for node in graph.nodes:
        level = depth_of(node.id)
        out.extend([] for _ in range(level + 1 - len(out)))
        out[level].append(node)
    return out


def _clip(text: str) -> str:
    return text if len(text) <= BOX_WIDTH else text[: BOX_WIDTH - 1] + "…"


def _box(graph: Graph, node: Node) -> list[str]:
    labels = {n.id: n.label for n in graph.nodes}
    lines = [node.label, status_line(node), node.detail]
    ups = graph.upstream(node.id)
    if ups:
        lines.append("← " + ", ".join(labels.get(u, u) for u in ups))
    lines = [_clip(line) for line in lines if line]
    width = max(len(line) for line in lines)
    return ([f"┌{'─' * (width + 2)}┐"] + [f"│ {line.ljust(width)} │" for line in lines]
            + [f"└{'─' * (width + 2)}┘"])


def _row(boxes: list[list[str]]) -> list[str]:
    height = max(len(b) for b in boxes)
    padded = [b + [" " * len(b[0])] * (height - len(b)) for b in boxes]
    return ["  ".join(parts).rstrip() for parts in zip(*padded, strict=True)]


def to_boxes(graph: Graph, width: int = 100) -> str:
    """The DAG top to bottom: one row of boxes per layer, ``▼`` between layers.

    Each box names its inputs (``← a, b``), so edges stay readable without drawing lines.
    """
    out: list[str] = []
    for index, layer in enumerate(layers(graph)):
        if index:
            out.append("▼".center(min(width, len(out[-1]))).rstrip())
        row: list[list[str]] = []
        for node in layer:
            box = _box(graph, node)
            if row and sum(len(b[0]) + 2 for b in row) + len(box[0]) > width:
                out += _row(row)
                row = []
            row.append(box)
        out += _row(row)
    return "\n".join(out) + "\n"


def _tree_text(node: Node) -> str:
    text = node.label if node.group else f"{MARKS.get(node.status, '')} {node.label}".strip()
    return text + (f"  ({node.detail})" if node.detail else "")


def to_tree(graph: Graph, title: str) -> str:
    """A forest (each node has at most one parent) as an indented tree under TITLE."""
    by_id = {n.id: n for n in graph.nodes}
    lines = [title]

    def walk(children: list[str], prefix: str) -> None:
        for i, child_id in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{_tree_text(by_id[child_id])}")
            walk(graph.downstream(child_id), prefix + ("    " if last else "│   "))

    walk([n.id for n in graph.nodes if not graph.upstream(n.id)], "")
    return "\n".join(lines) + "\n"


# --- Mermaid and DOT -----------------------------------------------------------------------

def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart (GitHub, GitLab and Jupyter render it); nodes get ids n0, n1..."""
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for node in graph.nodes:
        text = "<br/>".join(_mermaid_text(p) for p in (node.label, status_line(node), node.detail) if p)
        left, right = ("([", "])") if node.group else ("[", "]")
        lines.append(f'    {ids[node.id]}{left}"{text}"{right}')
    lines += [f"    {ids[a]} --> {ids[b]}" for a, b in graph.edges if a in ids and b in ids]
    used = sorted({n.status for n in graph.nodes if n.status in COLORS})
    lines += [f"    classDef {status} fill:{COLORS[status]}" for status in used]
    for status in used:
        members = ",".join(ids[n.id] for n in graph.nodes if n.status == status)
        lines.append(f"    class {members} {status}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(graph: Graph, name: str = "G") -> str:
    """Graphviz DOT (``dot -Tsvg``): boxes coloured by status, components as folders."""
    lines = [f'digraph "{_dot_text(name)}" {{', "    rankdir=TB;",
             '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];']
    for node in graph.nodes:
        label = "\\n".join(_dot_text(p) for p in (node.label, status_line(node), node.detail) if p)
        attrs = [f'label="{label}"']
        if node.status in COLORS:
            attrs.append(f'fillcolor="{COLORS[node.status]}"')
        if node.group:
            attrs.append("shape=folder")
        lines.append(f'    "{_dot_text(node.id)}" [{", ".join(attrs)}];')
    lines += [f'    "{_dot_text(a)}" -> "{_dot_text(b)}";' for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- builders ------------------------------------------------------------------------------

def run_graph(run: dict) -> Graph:
    """A recorded run (``MetadataStore.run``) as its step DAG.

    Edges come from lineage (which step's artifact fed which step), so a step that never
    ran (skipped after a failure) is drawn without its inputs; a failed one has them.
    """
    producer = {a["id"]: a["node_id"] for a in run["artifacts"]}
    nodes = tuple(
        Node(step["node_id"], step["node_id"], step["status"],
             (step["ended"] - step["started"]) if step.get("ended") and step.get("started") else None,
             f"cached from {step['cached_from']}" if step.get("cached_from") else "")
        for step in run["steps"])
    edges: list[tuple[str, str]] = []
    for row in run["lineage"]:
        edge = (producer.get(row["artifact_id"], ""), row["node_id"])
        if edge[0] and edge not in edges:
            edges.append(edge)
    return Graph(nodes, tuple(edges))
