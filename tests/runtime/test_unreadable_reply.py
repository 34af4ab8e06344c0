"""A step whose result arrives whole but does not unpickle in the run's process (here, metadata holding an
exception whose class needs two arguments: pickle rebuilds it with one) fails that step; the run goes
on, names it, and keeps what other steps recorded.

Before, the unpickling error escaped ``PipePool``'s reader: the driven pool's run crashed naming no step,
and a pool with a reader thread lost that thread, so nothing completed any future again.
"""

import multiprocessing

import pytest

from zenprovision.runtime.loader import load_pipeline
from zenprovision.runtime.orchestrators.pool import PipePool
from zenprovision.runtime.runner import RunFailed

PIPELINE = '''
from zenprovision import get_step_context, pipeline, step


class CodedError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


@step
def fine(n: int = 2) -> int:
    return n


@step
def logs_an_error() -> int:
    get_step_context().log_metadata(last_error=CodedError(7, "seen before"))
    return 1


@pipeline
def unreadable():
    fine()
    logs_an_error()
'''


class CodedError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def coded_error():
    return CodedError(7, "it pickles, and unpickles only with one argument")


def plain():
    return "fine"


@pytest.mark.parametrize("driven", [True, False], ids=["driven", "reader-thread"])
def test_a_reply_that_does_not_unpickle_fails_its_future_and_the_pool_serves_on(driven):
    pool = PipePool(1, multiprocessing.get_context("fork"), driven=driven)
    try:
        unreadable = pool.submit(coded_error)
        assert "could not be read back" in str(unreadable.exception(timeout=60))
        assert pool.submit(plain).result(timeout=60) == "fine"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in pool._processes.values():
            process.terminate()
            process.join(10)


def test_a_run_whose_step_result_does_not_unpickle_fails_at_that_step(local_stack, tmp_path):
    (tmp_path / "unreadable.py").write_text(PIPELINE)
    pipeline = load_pipeline(f"{tmp_path / 'unreadable.py'}:unreadable")
    with pytest.raises(RunFailed, match="could not be read back") as failed:
        pipeline.run(stack=local_stack, cache=False)
    assert failed.value.summary.failed_step == "logs_an_error"
    assert failed.value.summary.steps["fine"] == "succeeded" and failed.value.summary.output("fine") == 2
