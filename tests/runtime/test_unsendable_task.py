"""A step whose task cannot be sent to a worker (a constant that does not pickle) fails that step, as
``ProcessPoolExecutor`` failed its future: the run goes on and names it, and the worker stays in service.

Before, ``PipePool`` raised the pickling error out of ``submit``, or out of whoever read the reply
that freed a worker for it (the run's own thread, for the local orchestrator's driven pool): the run
crashed naming no step, and the step whose reply freed the worker lost its result.
"""

import multiprocessing
import threading

import pytest

from tests.runtime.test_pipe_pool import pid_after
from zenprovision.runtime.execution import TransferError
from zenprovision.runtime.loader import load_pipeline
from zenprovision.runtime.orchestrators.pool import PipePool
from zenprovision.runtime.runner import RunFailed, run_pipeline

PIPELINE = '''
import threading

from zenprovision import pipeline, step


@step
def fine(n: int = 2) -> int:
    return n


@step
def holds(lock: object = None) -> int:
    return 1


@pipeline
def unsendable():
    fine()
    holds(lock=threading.Lock())
'''


@pytest.fixture(params=[True, False], ids=["driven", "reader-thread"])
def pool(request):
    made = PipePool(1, multiprocessing.get_context("fork"), driven=request.param)
    yield made
    made.shutdown(wait=False, cancel_futures=True)
    for process in made._processes.values():
        process.terminate()
        process.join(10)


def test_an_unsendable_task_fails_its_future_and_the_worker_serves_the_next(pool):
    with pytest.raises(TransferError, match="its task could not be sent to a worker: TypeError: .*pickle"):
        pool.submit(pid_after, threading.Lock()).result(timeout=60)
    busy = pool.submit(pid_after, 0.2)
    queued_bad, queued_good = pool.submit(pid_after, threading.Lock()), pool.submit(pid_after, 0)
    assert isinstance(queued_bad.exception(timeout=60), TransferError)  # sent, or not, when `busy` replied
    assert busy.result(timeout=60) in pool._processes
    assert queued_good.result(timeout=60) in pool._processes


@pytest.mark.parametrize("workers", [1, 2])  # 1: the step waits for the worker `fine` frees
def test_a_run_with_an_unsendable_step_fails_at_that_step_and_keeps_the_rest(local_stack, tmp_path, workers):
    from tests.runtime.conftest import make_stack

    make_stack(local_stack, {"flavor": "local", "config": {"path": (tmp_path / "artifacts").as_uri()}},
               workers=workers)
    (tmp_path / "unsendable.py").write_text(PIPELINE)
    pipeline = load_pipeline(f"{tmp_path / 'unsendable.py'}:unsendable")
    events = []
    with pytest.raises(RunFailed, match="could not be sent to a worker.*must pickle") as failed:
        run_pipeline(pipeline, local_stack, {}, cache=False, on_event=lambda *event: events.append(event))
    assert failed.value.summary.failed_step == "holds"
    assert "process died" not in str(failed.value)  # no worker died: it says what the user must change
    assert not [event for event in events if event[0] == "retry"]  # and is not tried again: it would fail again
    assert failed.value.summary.steps["fine"] == "succeeded" and failed.value.summary.output("fine") == 2
