"""`--in-process`: a step that raises KeyboardInterrupt itself, with no Ctrl-C or SIGTERM behind it,
fails as any step's own error does on workers (its retries apply, the branches beside it run,
`failed`, exit 1), as `sys.exit()` in a step does. Before, any KeyboardInterrupt out of a step run
in-process was taken for a Ctrl-C: the run was `aborted` and the steps beside it never ran. A
real Ctrl-C still aborts the run (test_in_process.py, test_r7_swallowed_stop.py)."""

import pytest

from zenprovision import pipeline, step
from zenprovision.runtime.runner import RunFailed

ATTEMPTS: list[int] = []


@step(retries=1)
def gives_up() -> int:
    ATTEMPTS.append(1)
    raise KeyboardInterrupt("interactive prompt closed")


@step
def beside() -> str:
    return "ran"


@pipeline
def mixed():
    gives_up()
    beside()


@pytest.mark.parametrize("in_process", [True, False])
def test_a_keyboard_interrupt_the_step_raised_itself_fails_the_step_not_the_run(local_stack, in_process):
    ATTEMPTS.clear()
    with pytest.raises(RunFailed) as failed:  # before, in-process: CancelledError, the run aborted
        mixed.run(stack=local_stack, cache=False, in_process=in_process)
    summary = failed.value.summary
    assert summary.status == "failed" and summary.failed_step == "gives_up"
    assert "KeyboardInterrupt: interactive prompt closed" in summary.error
    assert summary.steps == {"gives_up": "failed", "beside": "succeeded"}
    if in_process:
        assert len(ATTEMPTS) == 2  # its retry ran
