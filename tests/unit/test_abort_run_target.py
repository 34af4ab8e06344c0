"""`provision destroy --force` interrupts a run's process only on the run's own machine, and only that process."""

import signal
import socket
import subprocess

import psutil
import pytest

from zenprovision import lifecycle


@pytest.fixture
def sleeper():
    child = subprocess.Popen(["sleep", "60"])
    yield child
    child.kill()
    child.wait()


def record(child: subprocess.Popen, **changes) -> dict:
    run = {"run_id": "", "host": socket.gethostname(), "pid": child.pid,
           "started": psutil.Process(child.pid).create_time()}
    return {**run, **changes}


def test_a_run_on_this_machine_is_interrupted(home, sleeper):
    lifecycle._abort_run("st", record(sleeper))
    assert sleeper.wait(timeout=30) == -signal.SIGINT


@pytest.mark.parametrize("changes", [{"host": "another-machine"}, {"started": 1.0}, {"pid": None}],
                         ids=["another-host", "pid-reused", "no-pid"])
def test_a_process_that_is_not_the_run_is_left_alone(home, sleeper, changes):
    lifecycle._abort_run("st", record(sleeper, **changes))
    with pytest.raises(subprocess.TimeoutExpired):
        sleeper.wait(timeout=0.5)
