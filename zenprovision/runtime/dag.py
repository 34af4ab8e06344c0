"""The pipeline DAG: nodes, their inputs, and the checks made before any step runs."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from zenprovision.errors import PipelineDefinitionError
from zenprovision.runtime.steps import _BUILDER, Step, StepOutput

SIMPLE_TYPES = (int, float, str, bool)


@dataclass
class Node:
    id: str
    step: Step
    inputs: dict[str, str] = field(default_factory=dict)  # parameter -> upstream node id
    params: dict[str, Any] = field(default_factory=dict)  # parameter -> constant

    @property
    def upstream(self) -> set[str]:
        return set(self.inputs.values())


@dataclass
class DAG:
    pipeline: str
    nodes: dict[str, Node] = field(default_factory=dict)

    def add(self, step: Step, args: tuple, kwargs: dict) -> StepOutput:
        node_id = self._unique_id(step.name)
        try:
            bound = step.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(f"step {step.name!r}: {exc}") from None
        node = Node(node_id, step)
        for name, value in bound.arguments.items():
            for key, item in _flatten(step, name, value).items():
                if isinstance(item, StepOutput):
                    node.inputs[key] = item.node_id
                else:
                    _check_constant(step, key, item)
                    node.params[key] = item
        _check_complete(step, node)
        self.nodes[node_id] = node
        return StepOutput(node_id)

    def _unique_id(self, name: str) -> str:
        if name not in self.nodes:
            return name
        index = 2
        while f"{name}_{index}" in self.nodes:
            index += 1
        return f"{name}_{index}"

    def children(self) -> dict[str, list[str]]:
        """Node -> the nodes that read it directly, each once, in the order the nodes were added."""
        found: dict[str, list[str]] = {n: [] for n in self.nodes}
        for node in self.nodes.values():
            for up in dict.fromkeys(node.inputs.values()):
                if up in found:
                    found[up].append(node.id)
        return found

    def downstream(self, node_id: str) -> set[str]:
        """Every node that depends on ``node_id``, directly or not."""
        children = self.children()
        found: set[str] = set()
        frontier = [node_id]
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        return found

    def topological(self) -> list[str]:
        """Nodes in an order that respects dependencies; a cycle is an error. Linear in nodes and edges."""
        children = self.children()
        indegree = {n: len(node.upstream) for n, node in self.nodes.items()}
        order = [n for n, d in indegree.items() if d == 0]
        for current in order:
            for child in children[current]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    order.append(child)
        if len(order) != len(self.nodes):
            stuck = sorted(set(self.nodes) - set(order))
            raise PipelineDefinitionError(f"pipeline {self.pipeline!r} has a cycle through {', '.join(stuck)}")
        return order

    def validate(self) -> None:
        if not self.nodes:
            raise PipelineDefinitionError(f"pipeline {self.pipeline!r} calls no steps")
        for node in self.nodes.values():
            missing = node.upstream - set(self.nodes)
            if missing:
                raise PipelineDefinitionError(f"step {node.id!r} reads missing step {sorted(missing)[0]!r}")
        self.topological()


def _flatten(step: Step, name: str, value: Any) -> dict[str, Any]:
    """``*args`` and ``**kwargs`` become one entry per item: ``parts[0]``, ``opts[k]``."""
    kind = step.signature.parameters[name].kind
    if kind is inspect.Parameter.VAR_POSITIONAL:
        return {f"{name}[{index}]": item for index, item in enumerate(value)}
    if kind is inspect.Parameter.VAR_KEYWORD:
        return {f"{name}[{key}]": item for key, item in value.items()}
    return {name: value}


def _check_constant(step: Step, name: str, value: Any) -> None:
    parameter = step.signature.parameters.get(name)
    annotation = parameter.annotation if parameter else inspect.Parameter.empty
    if annotation in SIMPLE_TYPES and not _fits(annotation, value):
        raise PipelineDefinitionError(
            f"step {step.name!r}: parameter {name!r} must be {annotation.__name__}, got {value!r}"
        )


def _fits(annotation: type, value: Any) -> bool:
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _check_complete(step: Step, node: Node) -> None:
    for name, parameter in step.signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        given = name in node.inputs or name in node.params
        if not given and parameter.default is inspect.Parameter.empty:
            raise PipelineDefinitionError(f"step {step.name!r} is missing its input {name!r}")


class Builder:
    """Collects step calls while a pipeline function runs."""

    def __init__(self, dag: DAG) -> None:
        self.dag = dag

    def __enter__(self) -> DAG:
        self._token = _BUILDER.set(self.dag)
        return self.dag

    def __exit__(self, *exc: object) -> None:
        _BUILDER.reset(self._token)
