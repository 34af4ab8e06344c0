import os
import stat
import subprocess
import sys

import pytest

from zenprovision.engines.embedded import state
from zenprovision.errors import CorruptFileError, StackLockedError
from zenprovision.locks import StackLock


def test_state_round_trip_is_private(home):
    saved = state.StackState(stack="dev", recipe="local")
    saved.put(state.ResourceState("urn:a", "t", "a", "id-a", "blob", {"x": 1}, {"x": 1, "y": 2}, ["urn:b"]))
    state.save(saved)
    path = state.state_path("dev")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = state.load("dev")
    assert loaded.get("urn:a").outputs == {"x": 1, "y": 2}
    assert loaded.get("urn:a").dependencies == ["urn:b"]
    assert not list(path.parent.glob("*.tmp*"))  # temp files: .<name>.tmp-<machine>-<pid>-<random>


def test_damaged_state_is_never_overwritten(home):
    path = state.state_path("dev")
    path.parent.mkdir(parents=True)
    path.write_text('{"stack": "dev", "resources": [')
    with pytest.raises(CorruptFileError, match="damaged"):
        state.load("dev")
    assert path.read_text() == '{"stack": "dev", "resources": ['


PROBE = ("from zenprovision.errors import StackLockedError\n"
         "from zenprovision.locks import StackLock\n"
         "try:\n    lock = StackLock('dev').acquire()\nexcept StackLockedError as exc:\n    print('refused:', exc)\n"
         "else:\n    lock.release()\n    print('acquired')\n")


def probe_lock() -> str:
    """What another process gets when it takes the lock: 'acquired' or 'refused: <why>'.

    Anything else (the probe crashed, or printed nothing) fails the calling test.
    """
    other = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stderr
    assert other.stdout.startswith(("acquired", "refused: ")), other.stdout + other.stderr
    return other.stdout.strip()


PYTEST = " ".join(os.path.basename(a) for a in sys.argv[:3])  # what the lock file names besides the PID


def test_second_holder_fails_at_once_naming_the_pid(home):
    with StackLock("dev") as outer:
        answer = probe_lock()  # bounded by the probe's timeout: a waiting acquire would fail here
        assert answer.startswith(f"refused: stack 'dev' is locked by PID {os.getpid()} ({PYTEST})")
        with StackLock("dev") as inner:  # re-entrant within the holding process, on the same descriptor
            assert inner.fd == outer.fd
        assert probe_lock().startswith("refused: ")  # the inner release did not free the outer hold
    assert probe_lock() == "acquired"


def test_lock_of_a_killed_process_is_taken_over(home):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time, sys; from zenprovision.locks import StackLock;"
        "lock = StackLock('dev').acquire(); print('held', flush=True); time.sleep(60)"), "a holder", "of dev"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(StackLockedError, match=str(holder.pid)) as refused:
        StackLock("dev").acquire()
    assert "stack 'dev'" in refused.value.message and "wait for it to finish" in refused.value.hint
    holder.kill()
    holder.wait()
    lock = StackLock("dev").acquire()
    assert lock.stale_holder == holder.pid
    lock.release()


def test_the_lock_file_names_its_holder_and_each_stack_has_its_own(home):
    lock = StackLock("dev").acquire()
    try:
        assert lock.path == home / "locks" / "dev.lock"
        assert lock.path.read_text().startswith(f"{os.getpid()} (")
        assert lock.stale_holder is None  # nobody held it before
        with StackLock("prod") as other:  # another stack is not blocked
            assert other.fd is not None and other.fd != lock.fd
    finally:
        lock.release()
    lock.release()  # a second release is harmless
    assert lock.fd is None
    StackLock("dev").release()  # so is a release without an acquire
    with StackLock("dev"):
        inner = StackLock("dev").acquire()
        inner.release()
        inner.release()
        assert probe_lock().startswith("refused: ")


def test_a_released_lock_is_free_for_others_and_not_stale(home):
    with StackLock("dev"):
        pass
    assert probe_lock() == "acquired"
    with StackLock("dev"):
        pass
    mine = StackLock("dev").acquire()  # the last holder was this process, alive: not stale
    try:
        assert mine.stale_holder is None
    finally:
        mine.release()
