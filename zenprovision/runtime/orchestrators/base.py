"""The orchestrator contract: hand out an executor that runs ``execute_step`` tasks.

Scheduling (readiness, caching, retries, skipping) is shared in ``runtime.scheduler``; an
orchestrator only decides where a step's process runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenprovision.errors import InputError


@dataclass(frozen=True)
class RunContext:
    """What an orchestrator that runs steps elsewhere needs to ship them."""

    run_id: str
    code_root: Path  # the pipeline file's folder: becomes the code package
    store: Any  # the stack's artifact store
    stack: dict[str, Any]  # the stack config document


class BaseOrchestrator(ABC):
    flavor = ""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)

    def prepare_run(self, context: RunContext) -> None:  # noqa: B027 - optional hook
        """Called once before a run; orchestrators that ship code keep the context."""

    def run_in_process(self) -> None:
        """Run the steps in this process (``--in-process``): only an orchestrator of this machine can."""
        raise InputError(f"--in-process runs the steps in the run's own process; this stack's orchestrator is "
                         f"{self.flavor}, which runs them elsewhere",
                         hint="drop --in-process, or run on a stack whose orchestrator is local")

    def doctor_hint(self, question: str) -> str:
        """``question`` and the command that checks this stack: named when a run said which (never ``STACK``)."""
        context = getattr(self, "context", None)
        stack = str(context.stack.get("name") or "") if context is not None else ""
        if stack:
            return f"{question} `provision doctor {stack}` checks each component"
        return f"{question} `provision doctor NAME` checks each component of a stack (`provision stacks` lists them)"

    def warm_up(self, functions: list[Any]) -> None:  # noqa: B027 - optional hook
        """Called once before the first step is submitted, with the functions of the steps left."""

    @property
    def parallelism(self) -> int:
        return max(1, int(self.config.get("workers", 1)))

    @abstractmethod
    def executor(self) -> AbstractContextManager[Executor]:
        """A context manager yielding an executor; leaving it must stop every worker."""

    @abstractmethod
    def abort(self, executor: Executor) -> None:
        """Stop running steps at once (Ctrl-C)."""

    def probe(self) -> str:
        """Run a no-op where steps run (``provision doctor``); says where it ran."""
        import os

        with self.executor() as executor:
            return f"no-op step ran in process {executor.submit(os.getpid).result(timeout=60)}"
