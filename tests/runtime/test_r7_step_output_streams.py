"""`--in-process`: a step that replaces `sys.stdout` / `sys.stderr` (a library's output capture
left in place) replaces them for itself only. Before, the run kept the step's streams: the
progress lines, the failing step's traceback, the one-line error and the `--json` summary
went into the step's buffer, so a failed run exited 1 saying nothing and a succeeded one printed
no JSON. On workers a step's streams never reach the run's process."""

import json

PIPELINE = '''
import io, sys
from zenprovision import pipeline, step

@step
def captures() -> int:
    sys.stdout = io.StringIO()
    sys.stderr = io.StringIO()
    return 1

@step
def breaks(x: int) -> int:
    if x:
        raise ValueError("the data is bad")
    return x

@step
def fine(x: int) -> int:
    return x

@pipeline
def failing():
    breaks(captures())

@pipeline
def passing():
    fine(captures())
'''


def test_the_run_still_reports_after_a_step_that_took_stdout_and_stderr(local_stack, cli, tmp_path):
    pipeline_file = tmp_path / "captures.py"
    pipeline_file.write_text(PIPELINE)
    failed = cli("run", f"{pipeline_file}:failing", "--stack", local_stack, "--in-process")
    assert failed.code == 1
    assert "ValueError: the data is bad" in failed.err and "failed at step 'breaks'" in failed.err  # before: ""
    passed = cli("run", f"{pipeline_file}:passing", "--stack", local_stack, "--in-process", "--no-cache", "--json")
    assert passed.code == 0, passed.err
    assert json.loads(passed.out)["steps"] == {"captures": "succeeded", "fine": "succeeded"}  # before: no JSON
