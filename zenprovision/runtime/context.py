"""What a running step can reach: its run, the stack's components, run metadata."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from zenprovision.errors import ZenProvisionError

_CONTEXT: ContextVar[StepContext | None] = ContextVar("zenprovision_step_context", default=None)


@dataclass
class StepContext:
    run_id: str
    node_id: str
    stack: dict[str, Any]  # the stack config document
    artifact_store: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    run_metadata: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def model_server(self) -> Any:
        from zenprovision.runtime.model_servers import for_stack

        return for_stack(self.stack)

    def log_metadata(self, run: bool = False, **values: Any) -> None:
        """Record values on this step (or, with ``run=True``, on the whole run)."""
        (self.run_metadata if run else self.metadata).update(values)


def get_step_context() -> StepContext:
    context = _CONTEXT.get()
    if context is None:
        raise ZenProvisionError("get_step_context() works only inside a running step")
    return context


def log_metadata(run: bool = False, **values: Any) -> None:
    """Shortcut for ``get_step_context().log_metadata(...)``."""
    get_step_context().log_metadata(run=run, **values)
