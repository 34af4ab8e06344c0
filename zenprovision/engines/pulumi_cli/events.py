"""The CLI's structured engine events as zenprovision EngineEvents, plans, counts and drift.

Everything here reads the typed events of ``pulumi.automation.events`` (by attribute, so
this module does not import the SDK); nothing parses the CLI's printed text.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from zenprovision.engines.base import OPS, DriftReport, EngineEvent, EventHandler, ResourceChange

STACK_TYPE = "pulumi:pulumi:Stack"
_REPLACE_OPS = {"replace", "create-replacement", "delete-replaced", "read-replacement",
                "import-replacement", "discard-replaced"}
_OP_MAP = {
    "create": "create", "import": "create",
    "update": "update",
    "delete": "delete", "discard": "delete",
    "same": "same", "read": "same", "refresh": "same", "remove-pending-replace": "same",
    **dict.fromkeys(_REPLACE_OPS, "replace"),
}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|<\{%[^%]*%\}>")


def clean(message: str) -> str:
    """Strip ANSI escapes and Pulumi's ``<{%...%}>`` colour tags."""
    return _ANSI.sub("", message or "").strip()


def summarize(message: str) -> str:
    """One line for the user: a traceback's last line, else the first non-empty line."""
    lines = [line.strip() for line in clean(message).splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if any(line.startswith("Traceback (most recent call last)") for line in lines) else lines[0]
    line = re.sub(r"^error:\s*", "", line)
    return line if len(line) <= 300 else line[:297] + "..."


def map_op(raw: Any) -> str:
    """Pulumi's step op (create-replacement, read, ...) as one of zenprovision's five."""
    return _OP_MAP.get(str(getattr(raw, "value", raw)), "same")


def name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def to_change(metadata: Any) -> ResourceChange:
    """A ResourceChange from one step's metadata."""
    state = metadata.new or metadata.old
    return ResourceChange(
        urn=metadata.urn,
        type=metadata.type,
        name=name_of(metadata.urn),
        op=map_op(metadata.op),
        custom=_is_custom(metadata.type, state),
        parent=(state.parent or "") if state else "",
        diffs=tuple(metadata.diffs or (metadata.detailed_diff or {}).keys()),
        inputs=_visible_inputs(metadata.new),
    )


def _is_custom(type_: str, state: Any) -> bool:
    """Component resources and providers do not count; the CLI omits ``custom`` when false."""
    if type_.startswith("pulumi:providers:"):
        return False
    return True if state is None else bool(state.custom)


def _visible_inputs(state: Any) -> dict[str, Any]:
    """Inputs worth showing; ``__provider`` (a pickled dynamic provider) and such are not."""
    inputs = getattr(state, "inputs", None) or {}
    return {k: v for k, v in inputs.items() if not k.startswith("__")}


class ChangeLog:
    """One change per URN, in first-seen order; a replacement's several steps become one."""

    def __init__(self) -> None:
        self._changes: dict[str, ResourceChange] = {}

    def add(self, metadata: Any) -> ResourceChange | None:
        """Record a step; returns the change the first time its URN is seen, else None."""
        if metadata.type == STACK_TYPE:
            return None
        if metadata.urn in self._changes:  # every step of a replacement maps to "replace"
            return None
        change = self._changes[metadata.urn] = to_change(metadata)
        return change

    def changes(self) -> list[ResourceChange]:
        return list(self._changes.values())

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OPS, 0)
        for change in self._changes.values():
            if change.custom:
                counts[change.op] += 1
        return counts


class EventSink:
    """The ``on_event`` callback given to the SDK: it forwards progress and keeps what it learns.

    The SDK calls it from its gRPC threads, so everything is done under one lock.
    ``mode`` is ``apply`` (up and destroy: resource progress is forwarded), ``refresh``
    (drift is forwarded as diagnostics) or ``plan`` (only diagnostics are forwarded).
    """

    def __init__(self, on_event: EventHandler | None = None, mode: str = "apply") -> None:
        self._forward = on_event
        self._mode = mode
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._errors_by_urn: dict[str, str] = {}
        self.first_error = ""
        self.planned = ChangeLog()
        self.done = ChangeLog()

    def __call__(self, event: Any) -> None:
        with self._lock:
            if event.diagnostic_event is not None:
                self._diagnostic(event.diagnostic_event)
            elif event.resource_pre_event is not None:
                self._pre(event.resource_pre_event.metadata)
            elif event.res_outputs_event is not None:
                self._outputs(event.res_outputs_event.metadata)
            elif event.res_op_failed_event is not None:
                self._failed(event.res_op_failed_event.metadata)

    def drift(self) -> DriftReport:
        custom = [c for c in self.done.changes() if c.custom]
        return DriftReport(
            missing=[c.name for c in custom if c.op == "delete"],
            changed=[c.name for c in custom if c.op == "update"],
            checked=len(custom),
        )

    def _diagnostic(self, diag: Any) -> None:
        if diag.severity not in ("error", "warning"):
            return
        message = clean(diag.message)
        if not message:
            return
        if diag.severity == "error":
            self.first_error = self.first_error or summarize(message)
            if diag.urn:
                self._errors_by_urn.setdefault(diag.urn, summarize(message))
        self._emit(EngineEvent(kind="diagnostic", urn=diag.urn or "", message=message))

    def _pre(self, metadata: Any) -> None:
        change = self.planned.add(metadata)
        if change is None or self._mode != "apply" or not _shown(change):
            return
        self._started[change.urn] = time.monotonic()
        self._emit(_event("resource-pre", change))

    def _outputs(self, metadata: Any) -> None:
        change = self.done.add(metadata)
        if change is None:
            return
        if self._mode == "refresh" and change.custom and change.op in ("delete", "update"):
            what = "no longer exists" if change.op == "delete" else "changed outside zenprovision"
            self._emit(EngineEvent(kind="diagnostic", urn=change.urn, message=f"{change.name} ({change.type}) {what}"))
        elif self._mode == "apply" and _shown(change):
            seconds = time.monotonic() - self._started.get(change.urn, time.monotonic())
            self._emit(_event("resource-done", change, seconds=seconds))

    def _failed(self, metadata: Any) -> None:
        change = to_change(metadata)
        message = self._errors_by_urn.get(change.urn) or self.first_error
        self._emit(_event("resource-failed", change, message=message))

    def _emit(self, event: EngineEvent) -> None:
        if self._forward is not None:
            self._forward(event)


def _shown(change: ResourceChange) -> bool:
    return change.custom and change.op != "same"


def _event(kind: str, change: ResourceChange, **extra: Any) -> EngineEvent:
    return EngineEvent(kind=kind, op=change.op, urn=change.urn, type=change.type, name=change.name, **extra)
