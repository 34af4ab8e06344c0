"""`--in-process`: a step that takes SIGINT/SIGTERM for itself (ignores them, or installs its own
handler) takes them for itself only. Before, the run kept the step's handlers after the step
returned, so Ctrl-C, SIGTERM (a CI cancel) and `destroy --force` no longer stopped the run: it
went on and `succeeded`. On workers the step's handlers never reach the run's process."""

import os
import signal
import subprocess
import sys
import time

import pytest

from zenprovision.runtime.metadata import MetadataStore

PIPELINE = '''
import os, signal, time
from pathlib import Path
from zenprovision import pipeline, step

@step
def takes_signals() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    return 1

@step
def slow(x: int) -> int:
    marker = Path(os.environ["ZP_TEST_MARKERS"])
    (marker / ".started").write_text(str(os.getpid()))
    (marker / ".started").rename(marker / "started")
    time.sleep(60)
    return 2

@pipeline
def p():
    slow(takes_signals())
'''


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_step_that_ignores_signals_does_not_make_the_rest_of_the_run_unstoppable(local_stack, tmp_path,
                                                                                   monkeypatch, signum):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("ZP_TEST_MARKERS", str(markers))
    pipeline_file = tmp_path / "ignores.py"
    pipeline_file.write_text(PIPELINE)
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", str(pipeline_file), "--stack", local_stack,
                             "--in-process"], stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (markers / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert int((markers / "started").read_text()) == proc.pid
        os.kill(proc.pid, signum)
        assert proc.wait(30) == 130  # before: the signal was ignored and the step slept its 60 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run = MetadataStore(local_stack).runs()[0]
    assert run["status"] == "aborted"
    steps = {s["node_id"]: s["status"] for s in MetadataStore(local_stack).run(run["id"])["steps"]}
    assert steps == {"takes_signals": "succeeded", "slow": "aborted"}
