"""A step whose result arrives whole but does not unpickle in the run's process fails that step; the run
goes on, names it, and keeps what other steps recorded. (For example metadata holding an exception whose
class needs two arguments: plain pickle rebuilds it with one. The tests use an object whose rebuilding
always fails, since a library such as tblib may change how exceptions pickle.)

Before, the unpickling error escaped ``PipePool``'s reader: the driven pool's run crashed naming no step,
and a pool with a reader thread lost that thread, so nothing completed any future again.
"""

import multiprocessing

import pytest

from zenprovision.runtime.loader import load_pipeline
from zenprovision.runtime.orchestrators.pool import PipePool
from zenprovision.runtime.runner import RunFailed, run_pipeline

PIPELINE = '''
from zenprovision import get_step_context, pipeline, step


def _refuse():
    raise ValueError("this object cannot be rebuilt here")


class LoadsBadly:
    def __reduce__(self):
        return _refuse, ()


@step
def fine(n: int = 2) -> int:
    return n


@step
def logs_an_error() -> int:
    get_step_context().log_metadata(last_error=LoadsBadly())
    return 1


@pipeline
def unreadable():
    fine()
    logs_an_error()
'''


def _refuse():
    raise ValueError("this object cannot be rebuilt here")


class LoadsBadly:
    def __reduce__(self):
        return _refuse, ()


def loads_badly():
    return LoadsBadly()


def plain():
    return "fine"


@pytest.mark.parametrize("driven", [True, False], ids=["driven", "reader-thread"])
def test_a_reply_that_does_not_unpickle_fails_its_future_and_the_pool_serves_on(driven):
    pool = PipePool(1, multiprocessing.get_context("fork"), driven=driven)
    try:
        unreadable = pool.submit(loads_badly)
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
    events = []
    with pytest.raises(RunFailed, match="could not be read back.*must pickle") as failed:
        run_pipeline(pipeline, local_stack, {}, cache=False, on_event=lambda *event: events.append(event))
    assert failed.value.summary.failed_step == "logs_an_error"
    assert "process died" not in str(failed.value) and not [event for event in events if event[0] == "retry"]
    assert failed.value.summary.steps["fine"] == "succeeded" and failed.value.summary.output("fine") == 2
