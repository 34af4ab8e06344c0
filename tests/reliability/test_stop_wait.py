"""Stopping a server waits for it to exit, not for its reaper: a destroy does not sit out timeouts."""

import subprocess
import sys
import time

import psutil

from zenprovision.blocks import processes

# A parent that never reaps: its child stays a zombie after it exited, as a detached server
# does until a slow init reaps it.
SLOW_REAPER = ("import subprocess, sys, time\n"
               "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
               "print(child.pid, flush=True)\n"
               "time.sleep(60)\n")


def test_stop_returns_once_the_server_exited_though_nobody_reaped_it(tmp_path):
    reaper = subprocess.Popen([sys.executable, "-c", SLOW_REAPER], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(reaper.stdout.readline())
        pid_file = processes.PidFile(tmp_path / "server.pid")
        pid_file.write(pid)
        started = time.monotonic()
        processes.stop(pid_file, timeout=30.0)
        elapsed = time.monotonic() - started
        assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # exited, not yet reaped
        assert elapsed < 15.0, elapsed  # before: the whole 30 s timeout, then the kill round
        assert not pid_file.path.exists()
    finally:
        reaper.kill()
        reaper.wait()
