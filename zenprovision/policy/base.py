"""A policy: a name, what it demands and why, and one plain function that checks it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from zenprovision.policy.model import Resource, Settings, Stack

ResourceCheck = Callable[[Resource, Settings], Iterable[str]]
StackCheck = Callable[[Stack, Settings], Iterable[tuple[Resource, str]]]


@dataclass(frozen=True)
class Policy:
    """``scope`` "resource": ``check(resource, settings)`` yields messages, for every resource
    whose type is in ``types`` (all when empty). ``scope`` "stack": ``check(stack, settings)``
    yields (resource, message) pairs, for rules that need other resources or dependencies."""

    name: str
    description: str
    why: str
    scope: str
    check: ResourceCheck | StackCheck
    types: tuple[str, ...] = ()
    config: tuple[str, ...] = ()

    def applies_to(self, resource: Resource) -> bool:
        return not self.types or resource.type in self.types


@dataclass(frozen=True)
class Finding:
    """One violation: which policy, which resource, what is wrong."""

    policy: str
    resource: str
    message: str
    urn: str = ""

    def __str__(self) -> str:
        return f"[{self.policy}] {self.resource}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "resource": self.resource, "message": self.message, "urn": self.urn}
