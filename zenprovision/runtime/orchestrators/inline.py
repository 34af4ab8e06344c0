"""An executor that runs each step as it is submitted, in the run's own process (``--in-process``).

What ZenML's local orchestrator and Dagster's in-process executor do: no worker to start or
hand a step to, so a short step costs little more than its output's one fsync, and a
breakpoint in a step stops in the terminal the run was started from. What it gives up is
isolation: a step that crashes the interpreter ends the run (``--resume`` picks it up), and
steps run one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from zenprovision.runtime.execution import IN_PROCESS


class InlineExecutor(Executor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn`` now; Ctrl-C is not the step's failure but the run's end, so it propagates."""
        future: Future = Future()
        token = IN_PROCESS.set(True)
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the task's own failure, for its future
            future.set_exception(exc)
        finally:
            IN_PROCESS.reset(token)
        return future
