"""What a sweep finds and what a deletion leaves: plain data, no cloud SDK."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

TAG_STACK = "zenprovision:stack"  # set on every resource by zenprovision.blocks.labels
GLOBAL_REGION = "global"  # the region shown for IAM, whose resources live in no region


@dataclass(frozen=True)
class FoundResource:
    """One tagged cloud resource, with what deletion needs to address it.

    ``name`` is the service's own identifier (bucket, repository, role or cluster name;
    ``cluster/nodegroup`` for a node group), so deletion never re-parses ARNs.
    """

    stack: str
    type: str
    arn: str
    region: str
    name: str
    tags: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, object]:
        return {"stack": self.stack, "type": self.type, "arn": self.arn, "region": self.region,
                "tags": dict(self.tags)}


@dataclass(frozen=True)
class LeftResource:
    """A candidate that still exists after ``--delete``, and why.

    ``attempted`` tells a failed deletion (the sweep exits 1) from a kind the sweep does
    not delete or a stack registered meanwhile (reported, not an error).
    """

    resource: FoundResource
    reason: str
    attempted: bool


@dataclass(frozen=True)
class Candidates:
    """The orphans, computed once: the only list deletion may iterate."""

    orphans: tuple[FoundResource, ...]
    registered: frozenset[str]
    kept: tuple[FoundResource, ...] = ()  # tagged, but their stack is registered


@dataclass
class DeleteReport:
    deleted: list[FoundResource] = field(default_factory=list)
    left: list[LeftResource] = field(default_factory=list)

    @property
    def failed(self) -> list[LeftResource]:
        return [item for item in self.left if item.attempted]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """AWS's ``[{"Key": k, "Value": v}]`` as a dict (some APIs spell them ``key``/``value``)."""
    return {t.get("Key", t.get("key", "")): t.get("Value", t.get("value", "")) for t in tags or []}


def kind_of(arn: str) -> tuple[str, str]:
    """``(type, name)`` from an ARN: ``s3:bucket``, ``ecr:repository``, ``ec2:vpc``, ...

    Used for resources only the Resource Groups Tagging API reports; kinds the sweep
    lists per service get their names from the service itself.
    """
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return "unknown", arn
    service, resource = parts[2], parts[5]
    if service == "s3" and "/" not in resource:
        return "s3:bucket", resource
    pieces = re.split(r"[/:]", resource, maxsplit=1)
    if len(pieces) == 1:
        return service, resource
    return f"{service}:{pieces[0]}", pieces[1]
