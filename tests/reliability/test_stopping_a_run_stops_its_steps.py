"""Stopping ``provision run`` (Ctrl-C, SIGTERM, ``destroy --force``'s SIGINT) ends its pool workers
at once, as SIGTERM from ``abort`` always did: their step runs no further code, no worker prints a
traceback, and the command does not wait for each busy worker in turn (5 s each: ``destroy --force``
gave up after 30 s on a run with 6 or more steps under way).

The CLI turns SIGTERM into Ctrl-C (``zenprovision.cli.main``); forked pool workers must not inherit
that, or ``abort``'s ``terminate()`` hands each step a KeyboardInterrupt instead of ending it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.runtime.conftest import make_stack

PIPELINE = '''
import os, time
from pathlib import Path
from zenprovision import pipeline, step

MARKERS = Path(os.environ["R5_MARKERS"])


@step(cache=False)
def busy() -> int:
    (MARKERS / f"started-{os.getpid()}").write_text("")
    try:
        time.sleep(600)
    except BaseException as exc:  # the worker was handed an exception instead of being ended
        (MARKERS / f"saw-{type(exc).__name__}").write_text("")
        raise
    return 1


@pipeline
def stopped():
    busy()
'''


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigint-to-the-command"])
def test_a_stopped_run_ends_its_workers_without_running_their_code(home, tmp_path, how):
    markers = tmp_path / "markers"
    markers.mkdir()
    source = tmp_path / "stopped.py"
    source.write_text(PIPELINE)
    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}}, workers=2)
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", f"{source}:stopped", "--stack", "rt"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "R5_MARKERS": str(markers)})
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith("started-") for p in markers.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None, "the step never started"
            time.sleep(0.05)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # a terminal sends it to the whole foreground group
        else:  # `timeout`, a CI cancel; destroy --force sends SIGINT to the run's process alone
            os.kill(proc.pid, signal.SIGTERM if how == "sigterm" else signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "aborted" in err and "Traceback" not in err, err
    assert sorted(p.name for p in markers.iterdir() if p.name.startswith("saw-")) == [], err
