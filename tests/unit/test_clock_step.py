"""A step of the wall clock between recording a process and checking it (NTP's first sync on a
freshly booted machine, a manual change) does not make zenprovision lose it.

psutil's ``create_time`` is the time since boot plus the boot time on the wall clock, which
moves with every step: a record compared on the wall clock would take the very process it
recorded for another one that reused its PID. The step is simulated where psutil reads the
boot time (``/proc/stat``'s ``btime``, which the kernel moves by the step)."""

import signal
import subprocess
import sys

import psutil
import pytest

from zenprovision import lifecycle
from zenprovision.blocks import processes
from zenprovision.locks import files
from zenprovision.runtime import owner

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="psutil's Linux boot time is patched")


@pytest.fixture
def sleeper():
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield child
    child.kill()
    child.wait()


@pytest.fixture
def clock_step(monkeypatch):
    """Step the wall clock by ``seconds`` from now on, as psutil sees it."""
    real = psutil._psplatform.boot_time

    def step(seconds: float) -> None:
        monkeypatch.setattr(psutil._psplatform, "boot_time", lambda: real() + seconds)

    return step


@pytest.mark.parametrize("seconds", [1.0, -1.0, 3600.0])
def test_a_server_recorded_before_a_clock_step_is_still_found_and_stopped(tmp_path, sleeper, clock_step, seconds):
    pid_file = processes.PidFile(tmp_path / "server.pid")
    pid_file.write(sleeper.pid)
    clock_step(seconds)
    assert pid_file.running_pid() == sleeper.pid  # deploy again: no second server
    processes.stop(pid_file, timeout=5)  # destroy: the server is stopped, not orphaned
    assert sleeper.wait(timeout=10) == -signal.SIGTERM


def test_a_pid_file_of_an_earlier_version_is_still_matched_on_the_wall_clock(tmp_path, sleeper):
    pid_file = processes.PidFile(tmp_path / "server.pid")
    pid_file.path.write_text(f'{{"pid": {sleeper.pid}, "started": {psutil.Process(sleeper.pid).create_time()}}}')
    assert pid_file.running_pid() == sleeper.pid
    processes.stop(pid_file, timeout=5)
    assert sleeper.wait(timeout=10) == -signal.SIGTERM


def test_a_running_run_is_not_taken_for_gone_after_a_clock_step(clock_step):
    host, pid, started, boot = owner.current()
    clock_step(5.0)
    assert not owner.gone(host, pid, started, boot)
    assert owner.gone(host, pid, started - 5.0, boot)  # a process that started at another time is not it


def test_destroy_force_still_interrupts_its_run_after_a_clock_step(home, sleeper, clock_step):
    marker = files._owner("r1")  # what a run on a file home records of its process
    assert marker["boot"] == psutil.boot_time()
    run = {**marker, "run_id": "", "pid": sleeper.pid, "started": psutil.Process(sleeper.pid).create_time()}
    clock_step(2.0)
    lifecycle._abort_run("st", run)
    assert sleeper.wait(timeout=30) == -signal.SIGINT


def test_elsewhere_the_start_time_is_compared_on_the_wall_clock(sleeper, monkeypatch):
    """On macOS psutil's create_time is the wall clock at the start, which a later step does not move
    while boot_time moves: the time since boot would differ there, so it is not compared."""
    started = psutil.Process(sleeper.pid).create_time()
    other_boot = psutil.boot_time() - 3600.0
    assert not owner.same_start(psutil.Process(sleeper.pid), started, other_boot, 0.02)
    monkeypatch.setattr(owner.sys, "platform", "darwin")
    assert owner.same_start(psutil.Process(sleeper.pid), started, other_boot, 0.02)


def test_a_running_run_is_listed_running_after_a_clock_step(home, clock_step):
    from zenprovision.runtime.metadata import MetadataStore

    meta = MetadataStore("dev")
    meta.start_run("r1", "p", "p.py", "dev", {}, None)  # this process is the run's owner
    clock_step(5.0)
    assert [run["status"] for run in meta.runs()] == ["running"]  # the listing, as `provision runs` reads it
    assert meta.run("r1")["status"] == "running"
    meta.close()
