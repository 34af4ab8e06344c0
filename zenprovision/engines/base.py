"""The engine interface: plan, up, destroy, refresh and outputs, with progress events."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine worker process imports this module and never needs the catalog
    from zenprovision.recipes.recipe import Recipe

OPS = ("create", "update", "replace", "delete", "same")


@dataclass(frozen=True)
class ResourceChange:
    """One resource in a plan or an apply: what happens to it and why."""

    urn: str
    type: str
    name: str
    op: str
    custom: bool = True
    parent: str = ""
    diffs: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "op": self.op,
            "custom": self.custom,
            "parent": self.parent,
            "diffs": list(self.diffs),
            "inputs": self.inputs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceChange:
        return cls(**{**data, "diffs": tuple(data.get("diffs", ()))})


@dataclass(frozen=True)
class Plan:
    """What an up would do; ``applyable`` is False when this engine cannot apply it.

    ``policy`` lists violations of the zenprovision policy pack found while planning
    (``{policy, resource, message, urn}``); engines that leave policies to Pulumi leave it empty.
    """

    changes: list[ResourceChange]
    outputs: dict[str, Any] = field(default_factory=dict)
    applyable: bool = True
    reason: str = ""
    policy: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OPS, 0)
        for change in self.changes:
            if change.custom:
                counts[change.op] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return any(c.op != "same" for c in self.changes if c.custom)


@dataclass(frozen=True)
class UpResult:
    counts: dict[str, int]
    outputs: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class DriftReport:
    """What refresh found: resources gone or changed outside zenprovision."""

    missing: list[str]
    changed: list[str]
    checked: int


@dataclass(frozen=True)
class EngineEvent:
    """Progress: ``kind`` is resource-pre, resource-done, resource-failed or diagnostic."""

    kind: str
    op: str = ""
    urn: str = ""
    type: str = ""
    name: str = ""
    message: str = ""
    seconds: float = 0.0


EventHandler = Callable[[EngineEvent], None]


@dataclass(frozen=True)
class DeployRequest:
    """A recipe, a stack name, its checked config values and the stack's labels.

    Labels reach the program as config in the ``zenprovision`` namespace
    (``zenprovision:env``, ``:owner``, ``:stack``, ``:recipe``), from which recipes tag
    every resource.
    """

    recipe: Recipe
    stack: str
    config: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)


class Engine(ABC):
    """How a recipe's program is run. Implementations hold the stack's lock while working."""

    name: str

    @abstractmethod
    def plan(self, request: DeployRequest) -> Plan: ...

    @abstractmethod
    def up(self, request: DeployRequest, on_event: EventHandler) -> UpResult: ...

    @abstractmethod
    def destroy(self, stack: str, on_event: EventHandler) -> UpResult: ...

    @abstractmethod
    def refresh(self, stack: str, on_event: EventHandler) -> DriftReport: ...

    @abstractmethod
    def outputs(self, stack: str) -> dict[str, Any]: ...

    def prepare_up(self, stack: str) -> None:
        """A hint that ``up`` of ``stack`` follows the plan: an engine may start getting ready."""
        return None

    def prepare_destroy(self, stack: str) -> None:
        """A hint that ``destroy`` of ``stack`` follows: an engine may start getting ready."""
        return None

    def close(self) -> None:
        """Let go of whatever ``prepare_up`` or ``prepare_destroy`` started and nothing used."""
        return None
