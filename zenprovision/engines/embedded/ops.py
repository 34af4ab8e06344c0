"""The operations of the embedded engine on dynamic providers: the heart of plan and apply.

Each class sees resources as the program registers them (``register``) and decides, against
the stack's state, what to do: ``Planner`` only predicts, ``Applier`` executes and saves state
after every step, ``Destroyer`` and ``Refresher`` work from state alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zenprovision.engines.base import ResourceChange
from zenprovision.engines.embedded import state as state_store
from zenprovision.engines.embedded.state import ResourceState, StackState
from zenprovision.engines.embedded.values import (
    is_dynamic,
    load_provider,
    redact,
    reveal,
    split_provider,
)
from zenprovision.errors import CancelledError, InputError, OperationFailed, UnsupportedError

Emit = Callable[[dict[str, Any]], None]


@dataclass
class Registration:
    """A RegisterResource request, decoded."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False


@dataclass
class Decision:
    op: str
    news: dict[str, Any]
    diffs: tuple[str, ...] = ()
    delete_before_replace: bool = True


def _check(provider: Any, reg: Registration, olds: dict[str, Any], news: dict[str, Any]) -> dict:
    result = provider.check(reveal(olds), reveal(news))
    failures = list(getattr(result, "failures", None) or [])
    if failures:
        failure = failures[0]
        raise InputError(f"resource {reg.name!r}: {failure.property}: {failure.reason}")
    checked = getattr(result, "inputs", None)
    return dict(checked) if checked is not None else news


def decide(provider: Any, reg: Registration, old: ResourceState | None, news: dict) -> Decision:
    """Create, same, update or replace: the provider's diff, or an input comparison."""
    if old is None:
        return Decision("create", _check(provider, reg, {}, news))
    news = _check(provider, reg, old.inputs, news)
    result = provider.diff(old.id, reveal(old.outputs), reveal(news))
    replaces = tuple(getattr(result, "replaces", None) or ())
    changes = getattr(result, "changes", None)
    changed_keys = tuple(sorted(k for k in set(old.inputs) | set(news) if old.inputs.get(k) != news.get(k)))
    if changes is None:
        changes = bool(changed_keys)
    if replaces:
        dbr = getattr(result, "delete_before_replace", None)
        return Decision("replace", news, replaces, dbr is not False)
    if changes:
        return Decision("update", news, changed_keys)
    return Decision("same", news)


@dataclass
class Planner:
    """Predicts every resource's operation; outputs are old outputs or the new inputs."""

    state: StackState
    changes: list[ResourceChange] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    registered: list[Registration] = field(default_factory=list)  # custom resources, for the policies

    def register(self, reg: Registration) -> tuple[str, dict[str, Any]]:
        if not reg.custom:
            self._record(reg, "same", reg.inputs, custom=False)
            return "", {}
        self.registered.append(reg)
        if not is_dynamic(reg.type):
            self.foreign.append(reg.type)
            self._record(reg, "create", reg.inputs)
            return f"{reg.name}-id", dict(reg.inputs)
        blob, news = split_provider(reg.inputs)
        old = self.state.get(reg.urn)
        decision = decide(load_provider(blob), reg, old, news)
        self._record(reg, decision.op, decision.news, decision.diffs)
        if decision.op == "same" and old is not None:
            return old.id, old.outputs
        return (old.id if old else ""), {**(old.outputs if old else {}), **decision.news}

    def _record(self, reg: Registration, op: str, inputs: dict, diffs=(), custom=True) -> None:
        shown = {k: v for k, v in redact(inputs).items() if not k.startswith("__")}
        self.changes.append(
            ResourceChange(reg.urn, reg.type, reg.name, op, custom, reg.parent, tuple(diffs), shown)
        )

    def finish(self) -> None:
        seen = {c.urn for c in self.changes}
        for old in reversed(self.state.resources):
            if old.urn not in seen:
                self.changes.append(ResourceChange(old.urn, old.type, old.name, "delete"))


class Interrupt:
    """Set by the runner's signal handler; checked before each new operation."""

    requested = False

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            raise CancelledError(
                "interrupted: the operations that finished are saved in state",
                hint="run the same command again to converge",
            )


@dataclass
class Applier:
    """Executes operations for real, saving state before and after each one."""

    state: StackState
    emit: Emit
    seen: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def register(self, reg: Registration) -> tuple[str, dict[str, Any]]:
        if not reg.custom:
            return "", {}
        if not is_dynamic(reg.type):
            raise UnsupportedError(
                f"resource {reg.name!r} ({reg.type}) needs the Pulumi CLI to be applied",
                hint="the embedded engine applies only dynamic-provider recipes; install the "
                "Pulumi CLI and use the pulumi engine, or plan it offline",
            )
        self.seen.add(reg.urn)
        blob, news = split_provider(reg.inputs)
        provider = load_provider(blob)
        old = self.state.get(reg.urn)
        decision = decide(provider, reg, old, news)
        self.counts[decision.op] = self.counts.get(decision.op, 0) + 1
        if decision.op == "same" and old is not None:
            old.provider, old.dependencies, old.parent = blob, reg.dependencies, reg.parent
            return old.id, old.outputs
        Interrupt.check()
        return self._execute(provider, blob, reg, old, decision)

    def _execute(self, provider, blob, reg, old, decision) -> tuple[str, dict[str, Any]]:
        started = time.monotonic()
        self.emit({"kind": "resource-pre", "op": decision.op, "urn": reg.urn, "type": reg.type, "name": reg.name})
        try:
            if decision.op == "update":
                self.state.begin("update", reg.urn)
                state_store.save(self.state)
                result = provider.update(old.id, reveal(old.outputs), reveal(decision.news))
                outs = getattr(result, "outs", None)
                resource_id = old.id
            else:
                if decision.op == "replace":
                    self._delete(provider, old)
                resource_id, outs = self._create(provider, blob, reg, decision.news)
        except Exception as exc:
            # A provider whose operation raised made no change (the dynamic provider contract).
            self.state.finish(reg.urn)
            state_store.save(self.state)
            self.emit({"kind": "resource-failed", "op": decision.op, "urn": reg.urn, "type": reg.type, "name": reg.name, "message": str(exc)})
            raise OperationFailed(f"{decision.op} of {reg.name!r} failed: {exc}") from exc
        if outs is not None:
            outputs = dict(outs)
        else:
            outputs = {**(old.outputs if old and decision.op == "update" else {}), **decision.news}
        self.state.put(ResourceState(reg.urn, reg.type, reg.name, resource_id, blob, decision.news, outputs, reg.dependencies, reg.parent))
        self.state.finish(reg.urn)
        state_store.save(self.state)
        self.emit({"kind": "resource-done", "op": decision.op, "urn": reg.urn, "type": reg.type, "name": reg.name, "seconds": time.monotonic() - started})
        return resource_id, outputs

    def _create(self, provider, blob, reg, news) -> tuple[str, Any]:
        self.state.begin("create", reg.urn, provider=blob, inputs=news, type=reg.type, name=reg.name)
        state_store.save(self.state)
        result = provider.create(reveal(news))
        return str(result.id), getattr(result, "outs", None)

    def _delete(self, provider, old: ResourceState) -> None:
        self.state.begin("delete", old.urn)
        state_store.save(self.state)
        provider.delete(old.id, reveal(old.outputs))
        self.state.drop(old.urn)
        self.state.finish(old.urn)
        state_store.save(self.state)

    def delete_unseen(self) -> None:
        """Resources that left the program are deleted, newest first."""
        for old in reversed(list(self.state.resources)):
            if old.urn not in self.seen:
                Interrupt.check()
                delete_resource(self.state, old, self.emit)
                self.counts["delete"] = self.counts.get("delete", 0) + 1
        recover_pending_creates(self.state, self.emit, keep=self.seen)


def delete_resource(state: StackState, old: ResourceState, emit: Emit) -> None:
    started = time.monotonic()
    emit({"kind": "resource-pre", "op": "delete", "urn": old.urn, "type": old.type, "name": old.name})
    state.begin("delete", old.urn)
    state_store.save(state)
    try:
        load_provider(old.provider).delete(old.id, reveal(old.outputs))
    except Exception as exc:
        emit({"kind": "resource-failed", "op": "delete", "urn": old.urn, "type": old.type, "name": old.name, "message": str(exc)})
        state.finish(old.urn)
        state_store.save(state)
        raise OperationFailed(f"delete of {old.name!r} failed: {exc}") from exc
    state.drop(old.urn)
    state.finish(old.urn)
    state_store.save(state)
    emit({"kind": "resource-done", "op": "delete", "urn": old.urn, "type": old.type, "name": old.name, "seconds": time.monotonic() - started})


def recover_pending_creates(state: StackState, emit: Emit, keep: set[str] = frozenset()) -> None:
    """A create that was interrupted may have made something: ask its provider to delete it.

    Providers get the inputs and an empty id; zenprovision's own providers find what they
    made from the inputs alone. Anything that cannot be cleaned is reported, not forgotten.
    """
    for pending in list(state.pending):
        if pending["op"] != "create" or pending["urn"] in keep or state.get(pending["urn"]):
            continue
        try:
            load_provider(pending["provider"]).delete("", reveal(pending["inputs"]))
        except Exception as exc:
            emit({"kind": "diagnostic", "message": f"interrupted create of {pending.get('name')!r} may have left a resource behind: {exc}"})
            continue
        state.finish(pending["urn"])
        state_store.save(state)


def destroy_all(state: StackState, emit: Emit) -> dict[str, int]:
    """Delete every resource, dependents before what they depend on.

    An interrupted create is the newest thing the stack may hold, so it goes first. A
    resource that fails to delete does not stop the others; only what it depends on is
    kept, and the error lists exactly what is left and why.
    """
    recover_pending_creates(state, emit)
    deleted, left, keep = 0, [], set()
    for old in reversed(list(state.resources)):
        Interrupt.check()
        if old.urn in keep:
            left.append(f"{old.name} (still needed by a resource that is left)")
            keep.update(old.dependencies, [old.parent])
            continue
        try:
            delete_resource(state, old, emit)
            deleted += 1
        except OperationFailed as exc:
            left.append(f"{old.name} ({exc.__cause__ or exc})")
            keep.update(old.dependencies, [old.parent])
    left += [f"{p.get('name', p['urn'])} (an interrupted create that could not be cleaned up)" for p in state.pending]
    if left:
        raise OperationFailed(f"destroy deleted {deleted} resources and left {len(left)}: {'; '.join(left)}",
                              hint="fix the cause and run destroy again; the stack stays registered until then")
    return {"delete": deleted}


def refresh_all(state: StackState, emit: Emit) -> dict[str, list[str]]:
    """Ask each provider whether its resource still exists; record what it says."""
    missing, changed = [], []
    for old in list(state.resources):
        provider = load_provider(old.provider)
        result = provider.read(old.id, reveal(old.outputs))
        if not getattr(result, "id", None):
            missing.append(old.name)
            state.drop(old.urn)
            emit({"kind": "diagnostic", "message": f"{old.name} ({old.type}) no longer exists"})
            continue
        outs = getattr(result, "outs", None)
        if outs is not None and dict(outs) != reveal(old.outputs):
            changed.append(old.name)
            old.outputs = dict(outs)
    state_store.save(state)
    return {"missing": missing, "changed": changed}
