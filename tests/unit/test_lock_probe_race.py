"""`provision stacks` and `provision unlock` probe a stack's lock by taking it shared for an instant;
a deploy that tries to lock the stack in that instant must not fail as if another command held it."""

import fcntl
import os

import pytest

from zenprovision import home
from zenprovision.errors import StackLockedError
from zenprovision.locks import files


@pytest.fixture
def probed(home, monkeypatch):
    """The lock file, taken shared by a probe that lets go while the deploy retries."""
    path = home_locks() / "dev.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    probe = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
    waits = []

    def probe_ends(seconds):
        waits.append(seconds)
        if len(waits) == 2:
            os.close(probe)  # the probe's instant is over

    monkeypatch.setattr(files.time, "sleep", probe_ends)
    yield waits
    if len(waits) < 2:
        os.close(probe)


def home_locks():
    return home.locks_dir()


def test_a_deploy_waits_out_a_probe(probed):
    lock = files.FileStackLock("dev").acquire()
    try:
        assert lock.fd is not None and len(probed) == 2
    finally:
        lock.release()


def test_a_real_holder_still_refuses_at_once(home):
    held = files.FileStackLock("dev").acquire()
    try:
        pid = os.fork()
        if pid == 0:  # another command: the kernel sees another process's lock
            try:
                files._HELD.clear()  # what this process held is its parent's
                files.FileStackLock("dev").acquire()
                os._exit(0)
            except StackLockedError:
                os._exit(3)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 3
    finally:
        held.release()
