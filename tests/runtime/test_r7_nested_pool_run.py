"""A step run `--in-process` that runs another pipeline on worker processes: those workers fork
from the step, and before, they inherited its "this step runs in the run's own process" flag.
A step of the inner run that raised KeyboardInterrupt itself was then re-raised in its worker
and taken for a Ctrl-C of the inner run, which read `aborted` instead of `failed` (as it does
when the outer run is on workers too)."""

import pytest

from zenprovision import get_step_context, pipeline, step
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.runner import run_pipeline


@step
def gives_up() -> int:
    raise KeyboardInterrupt("the inner step gives up")


@pipeline
def inner():
    gives_up()


@step(cache=False)
def runs_inner() -> str:
    return run_pipeline(inner, get_step_context().stack["name"], {}, raise_on_failure=False).status


@pipeline
def outer():
    runs_inner()


@pytest.mark.parametrize("in_process", [True, False])
def test_a_pool_run_inside_an_in_process_step_fails_its_step_as_any_pool_run(local_stack, in_process):
    summary = outer.run(stack=local_stack, in_process=in_process)
    assert summary.output("runs_inner") == "failed"  # before, in-process: "aborted"
    inner_run = next(r for r in MetadataStore(local_stack).runs() if r["pipeline"] == "inner")
    assert inner_run["status"] == "failed"
