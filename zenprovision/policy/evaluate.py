"""Offline evaluation: every policy over a program's resources, no Pulumi CLI, no pulumi-policy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zenprovision.policy.base import Finding, Policy
from zenprovision.policy.model import Resource, Settings, Stack


def evaluate(resources: Iterable[Resource], settings: Settings | None = None,
             policies: Sequence[Policy] | None = None) -> list[Finding]:
    """Findings in policy order, each once; custom resources only, as Pulumi's analyzer sees them."""
    from zenprovision.policy import POLICIES

    stack = Stack(resources)
    settings = settings or Settings()
    found: list[Finding] = []
    for policy in POLICIES if policies is None else policies:
        for resource, message in _run(policy, stack, settings):
            finding = Finding(policy.name, resource.label, message, resource.urn)
            if finding not in found:
                found.append(finding)
    return found


def _run(policy: Policy, stack: Stack, settings: Settings) -> Iterable[tuple[Resource, str]]:
    if policy.scope == "stack":
        yield from policy.check(stack, settings)
        return
    for resource in stack.resources:
        if policy.applies_to(resource):
            for message in policy.check(resource, settings):
                yield resource, message
