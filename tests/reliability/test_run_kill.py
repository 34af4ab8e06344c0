"""A killed ``provision run`` takes its pool workers with it (issue 12, item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.reliability.conftest import gone
from tests.runtime.conftest import make_stack

SHAPES = Path(__file__).parents[1] / "runtime" / "pipelines" / "shapes.py"

ORPHANED_CHILD = """
import os, sys, time
from zenprovision.runtime.orchestrators import lifeline
if len(sys.argv) > 1:
    lifeline._set_pdeathsig = lambda: False  # as on a system without prctl
parent = os.getpid()
if os.fork() == 0:
    print("child", os.getpid(), lifeline.die_with_parent(parent), flush=True)
    time.sleep(120)
    os._exit(0)
time.sleep(120)
"""


@pytest.fixture
def local_stack(home) -> str:
    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}}, workers=2)
    return "rt"


@pytest.mark.slow
def test_sigkill_of_a_run_leaves_no_pool_worker(local_stack, markers):
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", f"{SHAPES}:sleepy", "--stack", local_stack],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (markers / "slow-started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the step never started"
        time.sleep(0.05)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert int((markers / "slow-started").read_text()) in {w.pid for w in workers}
    os.kill(proc.pid, signal.SIGKILL)  # the run only, as the OOM killer or `kill -9` would
    proc.wait(10)
    try:
        assert gone(workers), f"workers outlived the run: {[w.pid for w in workers if w.is_running()]}"
    finally:
        for worker in workers:
            try:
                worker.kill()
            except psutil.Error:
                pass


@pytest.mark.parametrize("fallback", [False, True], ids=["pdeathsig", "watch"])
def test_a_worker_ends_when_its_parent_is_killed(fallback):
    args = [sys.executable, "-c", ORPHANED_CHILD] + (["fallback"] if fallback else [])
    parent = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, start_new_session=True)
    _, pid, how = parent.stdout.readline().split()
    assert how == ("watch" if fallback or not sys.platform.startswith("linux") else "pdeathsig")
    child = psutil.Process(int(pid))
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    try:
        assert gone([child], timeout=15)
    finally:
        if child.is_running():
            child.kill()
