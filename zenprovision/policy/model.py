"""What a policy sees: resources as plain data, the stack around them, and the pack's settings.

The same shapes come from three places: ``pulumi_policy``'s analyzer (a real preview or
update), the embedded engine's offline plan, and the conformance suite's mock run. Policies
are written once against these shapes and never import an SDK.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from zenprovision.stacks.labels import normalized

# The sentinels Pulumi uses for values not known until apply (preview), by kind.
UNKNOWNS = frozenset({
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", "(known after apply)",
})
ENV_TAG, ENV_LABEL = "zenprovision:env", "zenprovision_env"


def is_unknown(value: Any) -> bool:
    """True for a value a preview cannot know yet: a policy must not judge it."""
    return (isinstance(value, str) and value in UNKNOWNS) or type(value).__name__ == "Unknown"


def dig(props: Any, *path: str | int) -> Any:
    """``props[a][b]...`` or None where a step is missing (lists: index, or the first item)."""
    value = props
    for step in path:
        if isinstance(value, list) and isinstance(step, int):
            value = value[step] if len(value) > step else None
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


@dataclass(frozen=True)
class Resource:
    """One resource: its type token, logical name, URN, input properties, options and dependencies."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool | None = False  # None: the source cannot tell (Pulumi's analyzer)
    dependencies: tuple[str, ...] = ()
    parent: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type})"

    def zenprovision_labels(self) -> dict[str, Any]:
        """Its ``zenprovision`` tags (AWS) or labels (GCP), whichever it carries."""
        for key in ("tags", "labels", "resourceLabels"):
            value = self.props.get(key)
            if isinstance(value, dict):
                return value
        return {}

    def env(self) -> str | None:
        labels = self.zenprovision_labels()
        value = labels.get(ENV_TAG) or labels.get(ENV_LABEL)
        return value if isinstance(value, str) and not is_unknown(value) else None


@dataclass(frozen=True)
class Settings:
    """The pack's configuration; every key optional.

    ``env`` overrides the env read from resources' tags; ``labels`` are the exact values the
    four zenprovision tags must carry; ``force_destroy`` is the recipe's config (auto|true|false).
    """

    env: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    force_destroy: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Settings:
        data = dict(data or {})
        return cls(env=data.get("env"), labels=dict(data.get("labels") or {}),
                   force_destroy=None if data.get("force_destroy") is None else str(data["force_destroy"]))

    def env_of(self, resource: Resource) -> str | None:
        """Normalised like every prod guard's (``stacks.labels.is_prod``): an AWS tag ``PROD`` is prod."""
        env = self.env or resource.env()
        return normalized(env) if env is not None else None


class Stack:
    """Every resource of one program, looked up by URN, with transitive dependencies."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def depends_on(self, resource: Resource) -> set[str]:
        """URNs ``resource`` waits for, directly or through other resources."""
        seen: set[str] = set()
        todo = list(resource.dependencies)
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            found = self.by_urn.get(urn)
            if found is not None:
                todo.extend(found.dependencies)
        return seen

    def attached(self, type_: str, target: Resource, key: str, names: Iterable[Any] = ()) -> list[Resource]:
        """Resources of ``type_`` pointing at ``target``: by dependency, or ``props[key]`` naming it."""
        ids = {v for v in names if isinstance(v, str) and v and not is_unknown(v)}
        return [r for r in self.of_type(type_)
                if target.urn in r.dependencies or r.props.get(key) in ids]
