"""Ctrl-C of a run on workers does not wait for a step that ignores SIGTERM (found by r7)."""

import os
import signal
import time
from pathlib import Path

import psutil

from zenprovision.runtime.orchestrators import local


def _stubborn(marker: str) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(marker).write_text(str(os.getpid()))
    time.sleep(40)


def test_a_worker_still_alive_after_the_grace_period_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "ABORT_GRACE", 0.5, raising=False)
    marker = tmp_path / "started"
    orchestrator = local.LocalOrchestrator({"workers": 1})
    with orchestrator.executor() as executor:
        executor.submit(_stubborn, str(marker))
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        worker = int(marker.read_text())
        started = time.monotonic()
        orchestrator.abort(executor)
    assert time.monotonic() - started < 20  # not the step's 40 s
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
