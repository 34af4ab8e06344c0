"""Per-stack state of the embedded engine, written atomically after every operation.

It lives in the home (``state/<stack>.json``, a folder or a bucket), beside the stack's
config and record, so a teammate's machine can destroy what this one deployed.

It keeps, for every resource, what is needed to manage it without the program: the
serialized provider, inputs, outputs, id and dependencies. ``pending`` records an
operation that started and did not finish, so an interrupted apply is never forgotten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zenprovision import home
from zenprovision.errors import CorruptFileError
from zenprovision.homes import documents

STATE_VERSION = 2  # 2: provider blobs carry the sha256 recorded when they were saved


@dataclass
class ResourceState:
    urn: str
    type: str
    name: str
    id: str
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    parent: str = ""


@dataclass
class StackState:
    stack: str
    recipe: str = ""
    recipe_path: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    resources: list[ResourceState] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    version: int = STATE_VERSION

    def get(self, urn: str) -> ResourceState | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def put(self, resource: ResourceState) -> None:
        for index, existing in enumerate(self.resources):
            if existing.urn == resource.urn:
                self.resources[index] = resource
                return
        self.resources.append(resource)

    def drop(self, urn: str) -> None:
        self.resources = [r for r in self.resources if r.urn != urn]

    def begin(self, op: str, urn: str, **detail: Any) -> None:
        self.pending = [p for p in self.pending if p["urn"] != urn]
        self.pending.append({"op": op, "urn": urn, **detail})

    def finish(self, urn: str) -> None:
        self.pending = [p for p in self.pending if p["urn"] != urn]


def state_key(stack: str) -> str:
    return f"state/{stack}.json"


def state_path(stack: str) -> Path:
    """The state's file in a folder home (tests and tools that inspect it by hand)."""
    location = home.shared()
    assert location.path is not None, "a bucket home has no file paths"
    return location.path / state_key(stack)


def exists(stack: str) -> bool:
    return documents.exists(state_key(stack))


def load(stack: str) -> StackState:
    """The stack's state, or an empty one when it has never been deployed."""
    key = state_key(stack)
    path = documents.where(key)
    found = documents.read(key)
    if found is None:
        return StackState(stack=stack)
    try:
        data = json.loads(found.decode("utf-8"))
        if isinstance(data, dict) and data.get("stack", stack) != stack:  # a copy: never destroy what it names
            raise CorruptFileError(
                f"engine state {path} is damaged: field stack: says {data['stack']!r}, but the file is stack {stack!r}",
                hint=f"a copy of stack {data['stack']!r}'s state: remove it (or move it back); "
                     "zenprovision will not use it",
            )
        _check_providers(data)
        resources = [ResourceState(**r) for r in data.pop("resources", [])]
        return StackState(resources=resources, **{**data, "version": STATE_VERSION})
    except (ValueError, TypeError, AttributeError) as exc:
        raise CorruptFileError(
            f"engine state {path} is damaged: {exc}",
            hint="restore it from a backup; zenprovision will not overwrite it",
        ) from exc


def _provider_hashes(data: dict[str, Any]) -> dict[str, str]:
    entries = [("resource", e) for e in data.get("resources", [])] + [("pending", e) for e in data.get("pending", [])]
    return {f"{kind} {e['urn']}": hashlib.sha256(e["provider"].encode()).hexdigest()
            for kind, e in entries if e.get("provider")}


def _check_providers(data: dict[str, Any]) -> None:
    """Provider blobs are dill pickles: unpickling one runs code, so it must be the one we saved."""
    recorded = data.pop("provider_sha256", None)
    if data.get("version", 1) < 2:
        return  # written before hashes were recorded; the next save records them
    for urn, digest in _provider_hashes(data).items():
        if (recorded or {}).get(urn) != digest:
            raise ValueError(f"the provider of {urn} does not match the sha256 recorded when it was saved")


def save(state: StackState) -> None:
    data = asdict(state)
    data["provider_sha256"] = _provider_hashes(data)
    text = json.dumps(data, indent=1, sort_keys=True, default=str)
    documents.write(state_key(state.stack), text.encode("utf-8"))  # 0600, atomic in a folder home


def remove(stack: str) -> None:
    documents.delete(state_key(stack))
