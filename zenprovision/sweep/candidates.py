"""The one place that decides what is an orphan; deletion only ever sees its answer."""

from __future__ import annotations

from collections.abc import Iterable, Set

from zenprovision.sweep.model import TAG_STACK, Candidates, FoundResource


def is_orphan(resource: FoundResource, registered: Set[str]) -> bool:
    """Tagged by zenprovision, and its stack is not one this home knows.

    The tag is checked again here, not trusted from the finder: an untagged resource
    must never become a candidate, whatever a finder returns.
    """
    stack = resource.tags.get(TAG_STACK)
    return stack is not None and stack == resource.stack and stack not in registered


def pick(found: Iterable[FoundResource], registered: Set[str]) -> Candidates:
    """Split what was found into orphans and resources of registered stacks, sorted by stack."""
    orphans: list[FoundResource] = []
    kept: list[FoundResource] = []
    for resource in found:
        if is_orphan(resource, registered):
            orphans.append(resource)
        elif resource.tags.get(TAG_STACK) == resource.stack:
            kept.append(resource)
    order = lambda r: (r.stack, r.type, r.arn)  # noqa: E731
    return Candidates(orphans=tuple(sorted(orphans, key=order)), registered=frozenset(registered),
                      kept=tuple(sorted(kept, key=order)))
