"""`--in-process`: Ctrl-C or SIGTERM stops the run even when the step it lands in catches the
KeyboardInterrupt (a catch-all retry loop, `except BaseException`). Before, the step went on,
the steps after it ran and the run `succeeded` (exit 0); and since the CLI does not escalate a
SIGTERM after an interrupt (cli/stopping.py), a CI cancel could not stop it any more either.
On workers the run's own process takes the signal and aborts at once."""

import os
import signal
import subprocess
import sys
import time

import pytest

from zenprovision.runtime.metadata import MetadataStore

PIPELINE = '''
import os, time
from pathlib import Path
from zenprovision import pipeline, step

MARKERS = Path(os.environ["ZP_TEST_MARKERS"])

@step
def patient() -> int:
    (MARKERS / ".started").write_text(str(os.getpid()))
    (MARKERS / ".started").rename(MARKERS / "started")
    try:
        time.sleep(60)
    except BaseException:  # gives up quietly, as a catch-all retry loop would
        return -1
    return 1

@step
def later(x: int) -> int:
    (MARKERS / "later-ran").write_text("yes")
    return x

@pipeline
def p():
    later(patient())
'''


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_the_step_swallowed_still_aborts_the_run(local_stack, tmp_path, monkeypatch, signum):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("ZP_TEST_MARKERS", str(markers))
    pipeline_file = tmp_path / "swallows.py"
    pipeline_file.write_text(PIPELINE)
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", str(pipeline_file), "--stack", local_stack,
                             "--in-process"], stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (markers / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert int((markers / "started").read_text()) == proc.pid
        os.kill(proc.pid, signum)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert code == 130, err  # before: 0, the run succeeded
    assert "aborted" in err and "--resume" in err and "Traceback" not in err
    assert not (markers / "later-ran").exists()
    run = MetadataStore(local_stack).runs()[0]
    assert run["status"] == "aborted"
    details = MetadataStore(local_stack).run(run["id"])
    assert {s["node_id"]: s["status"] for s in details["steps"]} == {"patient": "aborted"}
    assert details["artifacts"] == []  # the swallowing step's output is not taken: resume runs it again
