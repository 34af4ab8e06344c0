"""The stack locks, as mutation testing showed they need pinning down: a lock is held, refused
naming its holder, released, taken over only once expired or released, and a holder that lost
its lease stops writing. All in one process: another command's ``flock`` is another open file
of the lock, another machine's lease is a document written beside ours. No test waits on a clock:
expiry is a document's ``renewed`` set in the past, a heartbeat is awaited by the writes it makes."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from zenprovision import locks
from zenprovision.errors import InputError, LockLostError, OperationFailed, StackLockedError, WriteConflict
from zenprovision.homes.location import parse
from zenprovision.homes.objects import Objects, open_home
from zenprovision.locks import files, shared
from zenprovision.locks.lease import Holder, Lease, command_line, lease_seconds, read, utcnow

KEY = "locks/dev.json"
HINT = "wait for it to finish and retry; if its holder is gone: provision unlock dev --force"
LOST_HINT = "see `provision stacks` and run the command again once the stack is free"


# ---------------------------------------------------------------- a local home: flocks


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def held_by_another_command(path: Path, content: bytes) -> int:
    """The lock file as another command holds it: its own open file, ``flock``ed, naming it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, content)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def taken_by_another_command(path: Path) -> bool:
    """Whether another command could take the lock now (it is let go again at once)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def dead_pid() -> int:
    """A PID no process can have: the kernel hands out PIDs below ``pid_max``."""
    return int(Path("/proc/sys/kernel/pid_max").read_text())


def test_a_held_stack_lock_is_refused_at_once_naming_its_holder_and_changing_nothing(home):
    path = home / "locks" / "dev.lock"
    other = held_by_another_command(path, b"4242 (provision recipe local)\n")
    try:
        before = open_fds()
        with pytest.raises(StackLockedError) as refused:
            files.FileStackLock("dev").acquire()
        assert refused.value.message == "stack 'dev' is locked by PID 4242 (provision recipe local)"
        assert refused.value.hint == "another command is working on it; wait for it to finish and retry"
        assert open_fds() == before  # a refused command keeps no descriptor of the lock file
        assert path.read_bytes() == b"4242 (provision recipe local)\n"  # nor writes into it
        assert files.holder("dev") == "PID 4242 (provision recipe local)"
    finally:
        os.close(other)
    assert files.holder("dev") is None  # its holder let go


def test_a_holder_that_wrote_nothing_readable_is_named_unknown(home):
    path = home / "locks" / "dev.lock"
    other = held_by_another_command(path, b"")
    try:
        with pytest.raises(StackLockedError) as refused:
            files.FileStackLock("dev").acquire()
        assert refused.value.message == "stack 'dev' is locked by PID unknown"
        assert files.holder("dev") == "PID unknown"
        os.write(other, b"77 (caf\xe9)")  # not UTF-8: still a message, not a crash
        with pytest.raises(StackLockedError) as refused:
            files.FileStackLock("dev").acquire()
        assert refused.value.message == "stack 'dev' is locked by PID 77 (caf\ufffd)"
        assert files.holder("dev") == "PID 77 (caf\ufffd)"
    finally:
        os.close(other)


def test_nobody_holds_the_lock_of_a_stack_never_locked_and_a_new_lock_file_is_private(home):
    assert files.holder("dev") is None
    with files.FileStackLock("other"):
        assert files.holder("dev") is None and files.holder("other").startswith(f"PID {os.getpid()} (")
        assert oct((home / "locks" / "other.lock").stat().st_mode & 0o777) == oct(0o600)


def test_the_lock_file_is_private_and_names_this_command_alone(home, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/opt/venv/bin/provision", "deploy", "dev", "--yes"])
    path = home / "locks" / "dev.lock"
    path.parent.mkdir(parents=True)
    path.write_text(f"{dead_pid()} (provision recipe local --with a much longer command line than ours)")
    with files.FileStackLock("dev") as lock:
        assert lock.path == path
        assert path.read_text() == f"{os.getpid()} (provision deploy dev)"  # the old holder's text is gone
        assert files.holder("dev") == f"PID {os.getpid()} (provision deploy dev)"
        assert not taken_by_another_command(path)
    assert taken_by_another_command(path)


def test_the_lock_of_a_dead_holder_is_taken_and_reported_stale(home):
    path = home / "locks" / "dev.lock"
    path.parent.mkdir(parents=True)
    gone = dead_pid()
    path.write_text(f"{gone} (provision recipe local)")
    lock = files.FileStackLock("dev").acquire()
    try:
        assert lock.stale_holder == gone
    finally:
        lock.release()


@pytest.mark.parametrize("content", [b"{this process} (provision deploy dev)", b"garbage", b"",
                                     b"\xff\xfe (not text)"])
def test_a_lock_last_held_by_this_process_or_by_nobody_readable_is_not_stale(home, content):
    path = home / "locks" / "dev.lock"
    path.parent.mkdir(parents=True)
    path.write_bytes(content.replace(b"{this process}", str(os.getpid()).encode()))
    with files.FileStackLock("dev") as lock:
        assert lock.stale_holder is None
    assert path.read_bytes().startswith(f"{os.getpid()} (".encode())


def test_a_lock_last_held_by_another_live_process_is_not_stale_and_that_process_is_left_alone(home):
    other = subprocess.Popen(["sleep", "600"])
    try:
        path = home / "locks" / "dev.lock"
        path.parent.mkdir(parents=True)
        path.write_text(f"{other.pid} (provision deploy dev)")
        with files.FileStackLock("dev") as lock:
            assert lock.stale_holder is None
    finally:
        other.terminate()
        other.wait()
    assert other.returncode == -signal.SIGTERM  # asking whether it lives sent it no signal


def test_a_lock_last_held_by_another_users_live_process_is_not_stale(home, monkeypatch):
    path = home / "locks" / "dev.lock"
    path.parent.mkdir(parents=True)
    path.write_text("4242 (provision deploy dev)")
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if pid == 4242:
            raise PermissionError(1, "Operation not permitted")  # alive, but not ours to signal
        real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    with files.FileStackLock("dev") as lock:
        assert lock.stale_holder is None


def test_the_lock_is_reentrant_and_held_until_the_outermost_release(home):
    path = home / "locks" / "dev.lock"
    outer = files.FileStackLock("dev").acquire()
    inner = [files.FileStackLock("dev").acquire() for _ in range(2)]
    assert {lock.fd for lock in inner} == {outer.fd}
    for lock in inner:
        lock.release()
        lock.release()  # a second release of the same hold changes nothing
        assert not taken_by_another_command(path)
    outer.release()
    assert outer.fd is None and taken_by_another_command(path)
    again = files.FileStackLock("dev").acquire()  # a fresh hold, on a descriptor of its own
    try:
        assert not taken_by_another_command(path) and files.holder("dev") is not None
    finally:
        again.release()
    files.FileStackLock("dev").release()  # a release without a hold is harmless
    assert taken_by_another_command(path)


def run_markers(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "locks" / "dev.runs").glob("*.json"))


def test_runs_share_the_stack_and_a_destroy_waits_for_them(home):
    first, second = files.FileRunLease("dev", "r1").acquire(), files.FileRunLease("dev", "r2").acquire()
    live = files.active_runs("dev")
    assert [run["run_id"] for run in live] == ["r1", "r2"]
    for private in (home / "locks" / "dev.lease", home / "locks" / "dev.runs" / "r1.json"):
        assert oct(private.stat().st_mode & 0o777) == oct(0o600), private
    assert live[0]["pid"] == os.getpid() and live[0]["host"] == socket.gethostname() and live[0]["started"] > 0
    destroy = files.FileDestroyLease("dev")
    assert not destroy.try_acquire() and not destroy.wait(0) and not destroy.wait(0.2)
    first.release()
    assert run_markers(home) == ["r2.json"]
    assert not destroy.try_acquire()
    second.release()
    second.release()  # harmless
    assert run_markers(home) == [] and files.active_runs("dev") == []
    assert destroy.try_acquire() and destroy.try_acquire()  # held now; asking again keeps it
    destroy.release()
    destroy.release()
    assert destroy.fd is None


def test_no_run_starts_while_a_destroy_holds_the_stack(home):
    destroy = files.FileDestroyLease("dev")
    assert destroy.wait(600)  # nothing in its way: at once
    assert oct((home / "locks" / "dev.lease").stat().st_mode & 0o777) == oct(0o600)
    before = open_fds()
    with pytest.raises(StackLockedError) as refused:
        files.FileRunLease("dev", "r1").acquire()
    assert refused.value.message == "stack 'dev' is being destroyed"
    assert refused.value.hint == "wait for the destroy to finish; then the stack is gone"
    assert open_fds() == before and run_markers(home) == []
    destroy.release()
    with files.FileRunLease("dev", "r1"):
        assert run_markers(home) == ["r1.json"]
    assert run_markers(home) == []


def test_a_destroy_waiting_for_a_run_proceeds_once_the_run_ends(home, monkeypatch):
    run = files.FileRunLease("dev", "r1").acquire()
    pauses = []

    def pause(seconds: float) -> None:  # the run ends while the destroy waits
        pauses.append(seconds)
        run.release()

    monkeypatch.setattr(files, "time", SimpleNamespace(monotonic=time.monotonic, sleep=pause))
    destroy = files.FileDestroyLease("dev")
    assert destroy.wait(600)
    assert len(pauses) == 1
    destroy.release()


def test_markers_of_dead_runs_are_removed_and_damaged_ones_still_name_their_run(home):
    folder = home / "locks" / "dev.runs"
    folder.mkdir(parents=True)
    (folder / "dead.json").write_text(json.dumps({"run_id": "dead", "pid": dead_pid()}))  # nobody holds it
    (folder / "a-gone.json").symlink_to(folder / "nowhere")  # removed between the listing and the look
    damaged = held_by_another_command(folder / "damaged.json", b"{not json")
    empty = held_by_another_command(folder / "starting.json", b"")
    try:
        assert files.active_runs("dev") == [{"run_id": "damaged"}, {}]
        assert run_markers(home) == ["a-gone.json", "damaged.json", "starting.json"]
        (folder / "a-gone.json").unlink()
    finally:
        os.close(damaged)
        os.close(empty)
    assert files.active_runs("dev") == [] and run_markers(home) == []
    assert files.active_runs("never-run") == []


def test_two_commands_removing_the_same_dead_marker_at_once_both_go_on(home, monkeypatch):
    folder = home / "locks" / "dev.runs"
    folder.mkdir(parents=True)
    dead = folder / "dead.json"
    dead.write_text("{}")
    real_flock = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        real_flock(fd, operation)
        if os.readlink(f"/proc/self/fd/{fd}") == str(dead):
            dead.unlink()  # the other command removed it just after this one locked it

    monkeypatch.setattr(fcntl, "flock", flock)
    with files.FileRunLease("dev", "live"):
        assert [run["run_id"] for run in files.active_runs("dev")] == ["live"]
    assert run_markers(home) == []


def test_the_local_home_picks_the_flock_kinds(home):
    assert not locks.is_shared()
    assert isinstance(locks.StackLock("dev"), files.FileStackLock)
    assert isinstance(locks.DestroyLease("dev"), files.FileDestroyLease)
    with locks.RunLease("dev", "r1") as run:
        assert isinstance(run, files.FileRunLease)
        assert [r["run_id"] for r in locks.active_runs("dev")] == ["r1"]
    with locks.StackLock("dev"):
        locks.fence("dev")  # nobody can take a held flock: nothing to check


# ---------------------------------------------------------------- leases on documents


class Store(Objects):
    """A folder home with hooks: what another machine does between two of our calls."""

    def __init__(self, inner: Objects) -> None:
        self.inner, self.location = inner, inner.location
        self.puts: list[dict] = []
        self.before_put = None  # called with (key, if_match); may raise or change the document
        self.after_get = None
        self.unreachable = False  # its writes fail (its reads are served from a cache)
        self.on_names = None

    def get(self, key):
        blob = self.inner.get(key)
        if self.after_get is not None:
            hook, self.after_get = self.after_get, None
            hook(key)
        return blob

    def put(self, key, data, *, if_none_match=False, if_match=None):
        if self.unreachable:
            raise OperationFailed("the bucket cannot be reached")
        if self.before_put is not None:
            self.before_put(key, if_match)
        self.puts.append({"key": key, "if_none_match": if_none_match, "if_match": if_match})
        return self.inner.put(key, data, if_none_match=if_none_match, if_match=if_match)

    def delete(self, key):
        if self.unreachable:
            raise OperationFailed("the bucket cannot be reached")
        self.inner.delete(key)

    def names(self, folder, suffix):
        if self.on_names is not None:
            hook, self.on_names = self.on_names, None
            hook()
        return self.inner.names(folder, suffix)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(open_home(parse(str(tmp_path / "team"))))


def lease(store, seconds: float = 600, command: str = "provision recipe local", key: str = KEY) -> Lease:
    return Lease(store, key, "stack 'dev'", HINT, seconds=seconds, command=command)


def age(store, seconds_ago: float, key: str = KEY) -> None:
    """The document as its holder left it ``seconds_ago``: its renewals stopped then."""
    blob, holder = read(store, key)
    holder.renewed = utcnow() - timedelta(seconds=seconds_ago)
    store.inner.put(key, holder.dump(), if_match=blob.etag)


def conflicts(times: int):
    """A ``before_put`` hook: the next ``times`` conditional writes lose a race."""
    left = [times]

    def hook(key, if_match):
        if left[0] > 0:
            left[0] -= 1
            raise WriteConflict(f"{key} was changed by another command at the same time")

    return hook


SINCE = datetime(2026, 12, 2, 9, 30, 5, tzinfo=timezone.utc)


def alice(renewed_after: float = 10, seconds: float = 60, **more) -> Holder:
    return Holder("a1", "alice", "laptop", 4242, "provision recipe local", SINCE,
                  SINCE + timedelta(seconds=renewed_after), seconds, **more)


def test_a_holder_says_who_since_when_and_how_long_its_lease_lasts():
    holder = alice()
    assert holder.expires_at == SINCE + timedelta(seconds=70)
    assert holder.who() == "alice@laptop (PID 4242, provision recipe local)"
    prefix = "alice@laptop (PID 4242, provision recipe local) since 2026-12-02 09:30:05 UTC; the lease "
    assert holder.describe(SINCE + timedelta(seconds=10.5)) == prefix + "expires in 60 s"
    assert holder.describe(SINCE + timedelta(seconds=69.9)) == prefix + "expires in 1 s"
    assert holder.describe(SINCE + timedelta(seconds=70)) == prefix + "expired 0 s ago"
    assert holder.describe(SINCE + timedelta(seconds=72.5)) == prefix + "expired 2 s ago"


def test_a_lease_is_free_once_expired_or_released():
    holder = alice()
    assert not holder.free(SINCE + timedelta(seconds=69.9))
    assert holder.free(SINCE + timedelta(seconds=70)) and holder.free(SINCE + timedelta(seconds=71))
    assert alice(released=True).free(SINCE)


def test_a_lease_document_round_trips_and_a_damaged_one_holds_nothing():
    holder = alice(released=True, note="taken by bob", abort="carol", extra={"run_id": "r1", "started": 1.5})
    assert Holder.load(holder.dump()) == holder
    assert json.loads(holder.dump())["since"] == "2026-12-02T09:30:05+00:00"
    for damaged in (b"[]", b"{}", b'{"since": "yesterday"}', holder.dump().replace(b'"holder"', b'"owner"'),
                    holder.dump().replace(b"2026-12-02T09:30:15", b"soon")):
        assert Holder.load(damaged) is None, damaged


def test_the_holder_record_names_this_command(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/srv/venv/lib/zenprovision/__main__.py", "recipe", "local", "--yes"])
    assert command_line() == "provision recipe local"
    mine = Holder.mine(42)
    assert (mine.pid, mine.host, mine.command, mine.lease_seconds) == (os.getpid(), socket.gethostname(),
                                                                       "provision recipe local", 42)
    assert mine.since == mine.renewed and abs((utcnow() - mine.since).total_seconds()) < 3600
    assert len(mine.holder) == 32 and mine.holder != Holder.mine(42).holder
    assert Holder.mine(42, "provision destroy dev").command == "provision destroy dev"
    monkeypatch.setattr(sys, "argv", ["/usr/bin/zenprovision", "deploy"])
    assert command_line() == "provision deploy"
    monkeypatch.setattr(sys, "argv", ["/usr/bin/pytest", "-q"])
    assert command_line() == "pytest -q"
    monkeypatch.setattr(sys, "argv", [])
    assert command_line() == ""


@pytest.mark.parametrize("error", [KeyError("uid 1234"), OSError("no user name")])
def test_a_user_without_a_name_is_named_unknown(monkeypatch, error):
    def getuser() -> str:
        raise error

    monkeypatch.setattr("getpass.getuser", getuser)
    assert Holder.mine(60).user == "unknown"


def test_the_lease_length_comes_from_the_environment_from_one_second_on(monkeypatch, store):
    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", " 1 ")
    assert lease_seconds() == 1
    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", "7.5")
    taken = Lease(store, KEY, "stack 'dev'", HINT)
    assert taken.seconds == 7.5 and taken.record.lease_seconds == 7.5
    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", "0.99")
    with pytest.raises(InputError) as refused:
        lease_seconds()
    assert refused.value.message == "ZENPROVISION_LEASE_SECONDS=0.99 is not a number of seconds"
    assert refused.value.hint == "use 1 or more, e.g. ZENPROVISION_LEASE_SECONDS=60"
    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", "  ")
    assert lease_seconds() == 60


def test_lease_times_are_utc_so_machines_in_other_zones_agree(store):
    store.inner.put(KEY, alice(renewed_after=0, seconds=60).dump())  # alice's laptop left it in 2026-12-02
    taker = lease(store).acquire()
    assert taker.previous.who().startswith("alice@laptop")
    assert read(store, KEY)[1].renewed.utcoffset() == timedelta(0)


def test_a_lease_is_created_only_if_absent_and_refused_naming_its_holder(store):
    mine = lease(store).acquire()
    assert store.puts[-1]["if_none_match"] is True and mine.previous is None
    blob, current = read(store, KEY)
    assert current.holder == mine.holder_id and mine.etag == blob.etag
    with pytest.raises(StackLockedError) as refused:
        lease(store, command="provision destroy dev").acquire()
    assert refused.value.message.startswith(f"stack 'dev' is locked by {current.who()} since ")
    assert refused.value.message.endswith(" UTC; the lease expires in 600 s")
    assert refused.value.hint == HINT
    assert read(store, KEY)[1] == current  # the refused taker wrote nothing


def test_an_expired_lease_is_taken_over_replacing_exactly_the_version_read(store):
    old = lease(store, seconds=30).acquire()
    age(store, 31)
    etag = store.get(KEY).etag
    taker = lease(store).acquire()
    assert store.puts[-1] == {"key": KEY, "if_none_match": False, "if_match": etag}
    assert taker.previous.holder == old.holder_id
    assert read(store, KEY)[1].holder == taker.holder_id


def test_of_two_takers_of_a_free_lease_the_one_that_writes_second_is_refused(store):
    first = []

    def other_taker_first(key, if_match):  # both read "no document"; the other one writes first
        if not first:
            first.append(lease(store.inner, command="provision destroy dev").acquire())

    store.before_put = other_taker_first
    with pytest.raises(StackLockedError, match="provision destroy dev"):
        lease(store).acquire()
    assert read(store, KEY)[1].holder == first[0].holder_id


def test_a_taker_that_lost_a_race_to_a_holder_already_gone_takes_the_lease(store):
    store.before_put = conflicts(1)  # another taker won this round, then let go
    taken = lease(store).acquire()
    assert read(store, KEY)[1].holder == taken.holder_id


def test_a_taker_that_keeps_losing_races_gives_up_naming_what_it_can(store):
    store.before_put = conflicts(1000)
    with pytest.raises(StackLockedError) as refused:
        lease(store).acquire()
    assert refused.value.message == "stack 'dev' is locked by another command"
    assert store.get(KEY) is None
    gone = lease(store.inner, command="provision destroy dev").acquire()
    age(store, 700)
    with pytest.raises(StackLockedError) as refused:
        lease(store).acquire()  # expired, but every takeover lost a race: name what is there
    assert refused.value.message.startswith(f"stack 'dev' is locked by {gone.record.who()} since ")


def test_a_forced_take_replaces_only_the_version_read(store):
    old = lease(store).acquire()
    stale = store.get(KEY).etag
    old.renew()
    with pytest.raises(WriteConflict):
        lease(store, command="provision unlock dev --force").take_from(stale, note="taken")
    assert read(store, KEY)[1].holder == old.holder_id
    forced = lease(store, command="provision unlock dev --force").take_from(store.get(KEY).etag, note="taken")
    assert read(store, KEY)[1].holder == forced.holder_id and read(store, KEY)[1].note == "taken"


def test_the_worker_adopts_only_its_commands_live_lease(store):
    with pytest.raises(LockLostError) as lost:
        lease(store).adopt("nobody")
    assert lost.value.message == ("stack 'dev': this command lost its lock (it was released); "
                                  "it stopped before writing more")
    assert lost.value.hint == LOST_HINT
    other = lease(store, command="provision destroy dev").acquire()
    with pytest.raises(LockLostError, match=r"\(it is held by .*provision destroy dev\)\)"):
        lease(store).adopt("mine")
    blob, current = read(store, KEY)
    current.released = True
    store.inner.put(KEY, current.dump(), if_match=blob.etag)
    with pytest.raises(LockLostError, match=r"\(it was released\)"):
        lease(store).adopt(other.holder_id)
    store.inner.put(KEY, b"{damaged")
    with pytest.raises(LockLostError, match=r"\(it was released\)"):
        lease(store).adopt(other.holder_id)


def test_the_adopting_worker_renews_the_lease_at_once_under_the_commands_name(store):
    command = lease(store).acquire()
    age(store, 100)
    worker = lease(store, command="worker").adopt(command.holder_id)
    assert worker.holder_id == command.holder_id
    current = read(store, KEY)[1]
    assert current.command == "provision recipe local" and not current.free(utcnow())
    assert abs((utcnow() - current.renewed).total_seconds()) < 60


def test_a_worker_adopting_a_lease_it_cannot_renew_stops_when_it_is_too_old(store):
    command = lease(store).acquire()
    store.unreachable = True
    age(store, 360)  # 0.6 of the lease: a worker may still write
    lease(store).adopt(command.holder_id).stop()
    age(store, 420)  # 0.7: past the two thirds after which a write may outlive the lease
    with pytest.raises(LockLostError, match=r"\(it could not be renewed in time\)"):
        lease(store).adopt(command.holder_id)
    age(store, 601)
    with pytest.raises(LockLostError, match=r"\(it could not be renewed for 600 s: the bucket cannot be reached\)"):
        lease(store).adopt(command.holder_id)


def test_a_lease_never_taken_or_already_lost_is_not_renewed(store):
    assert lease(store).renew() is False and store.puts == []
    with pytest.raises(LockLostError, match=r"\(it could not be renewed in time\)"):
        lease(store).check()  # the fence of a lease never taken stops the write
    held = lease(store).acquire()
    store.inner.delete(KEY)
    assert held.renew() is False and held.lost == "its lease document was removed"
    count = len(store.puts)
    assert held.renew() is False and len(store.puts) == count  # lost for good: no more writes
    with pytest.raises(LockLostError, match=r"\(its lease document was removed\)"):
        held.check()


def test_the_fence_of_a_lease_never_taken_holds_on_a_machine_booted_a_minute_ago(store, monkeypatch):
    """time.monotonic() counts from boot: 'never renewed' must not read as 'renewed at boot'."""
    monkeypatch.setattr("zenprovision.locks.lease.time.monotonic", lambda: 60.0)
    with pytest.raises(LockLostError, match=r"\(it could not be renewed in time\)"):
        lease(store).check()


@pytest.mark.parametrize(("change", "why"), [
    ({"holder": "b0b", "user": "bob", "command": "provision destroy dev"},
     "it was taken over by bob@{host} (PID {pid}, provision destroy dev)"),
    ({"released": True, "note": "taken from alice by provision unlock --force"},
     "it was released: taken from alice by provision unlock --force"),
    ({"released": True}, "it was released"),
    ({"abort": "bob@ci (provision destroy --force)"}, "bob@ci (provision destroy --force) asked it to stop"),
])
def test_a_renewal_that_finds_the_lease_changed_loses_it_saying_why(store, change, why):
    held = lease(store).acquire()
    heard = []
    held.on_lost = heard.append
    blob, current = read(store, KEY)
    for name, value in change.items():
        setattr(current, name, value)
    store.inner.put(KEY, current.dump(), if_match=blob.etag)
    assert held.renew() is False
    expected = why.format(host=socket.gethostname(), pid=os.getpid())
    assert held.lost == expected and heard == [expected]
    with pytest.raises(LockLostError) as lost:
        held.check()
    assert lost.value.message == f"stack 'dev': this command lost its lock ({expected}); it stopped before writing more"
    held.release()  # a lost lease never touches the document
    assert read(store, KEY)[1] == current


def test_a_renewal_that_finds_the_document_damaged_loses_the_lease(store):
    held = lease(store).acquire()
    store.inner.put(KEY, b"{damaged")
    assert held.renew() is False and held.lost == "its lease document was overwritten with something unreadable"


def test_a_renewal_after_the_workers_is_still_conditional(store):
    command = lease(store).acquire()
    worker = lease(store).adopt(command.holder_id)
    assert worker.renew()
    assert command.renew() and not command.lost  # it found the worker's write and renewed after it
    assert store.puts[-1]["if_match"] is not None and store.puts[-2]["if_match"] is not None
    store.before_put = conflicts(1000)  # the worker keeps renewing first: no write, but nothing lost
    assert command.renew() is False and not command.lost


def test_a_takeover_between_the_reread_and_the_retry_is_never_overwritten(store):
    command = lease(store).acquire()
    worker = lease(store).adopt(command.holder_id)
    assert worker.renew()  # the command's next write conflicts: it reads the document again

    def taken(key: str) -> None:  # and just after that read, someone forces the lease away
        blob, current = read(store.inner, KEY)
        lease(store.inner, command="provision unlock dev --force").take_from(blob.etag, note="forced")

    store.after_get = taken
    assert command.renew() is False
    assert read(store, KEY)[1].command == "provision unlock dev --force"
    assert "provision unlock dev --force" in command.lost


def test_an_unreachable_home_loses_the_lease_only_once_it_may_have_expired(store):
    held = lease(store).acquire()
    heard = []
    held.on_lost = heard.append
    store.unreachable = True
    assert held.renew() is False and not held.lost
    held.check()  # renewed just now: a write still has most of the lease
    held.release()  # cannot remove it: it expires by itself
    assert held.etag is None and read(store, KEY)[1].holder == held.holder_id
    assert heard == []


def test_the_heartbeat_renews_until_stopped(store):
    renewals = threading.Semaphore(0)
    held = lease(store, seconds=0.03).acquire()
    store.before_put = lambda key, if_match: renewals.release()
    held.start_heartbeat()
    [beat] = [t for t in threading.enumerate() if t.name == f"lease {KEY}"]
    assert beat.daemon  # a command that dies without letting go still exits
    for _ in range(3):
        assert renewals.acquire(timeout=60), "the heartbeat never renewed the lease"
    held.stop()
    assert not beat.is_alive()
    assert not held.lost


def test_a_long_lease_is_stopped_at_once(store):
    held = lease(store, seconds=600).acquire().start_heartbeat()
    [beat] = [t for t in threading.enumerate() if t.name == f"lease {KEY}"]
    held.stop()
    assert not beat.is_alive()
    held.stop()  # harmless
    held.release()
    assert store.get(KEY) is None


def test_a_holder_may_let_go_from_inside_its_lost_callback(store):
    held = lease(store, seconds=0.03).acquire()
    done, errors = threading.Event(), []

    def let_go(why: str) -> None:  # what a run does when told it lost its marker
        try:
            held.release()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        done.set()

    held.on_lost = let_go
    store.inner.delete(KEY)
    held.start_heartbeat()
    assert done.wait(60), "the heartbeat never found the lease gone"
    assert errors == [] and held.lost == "its lease document was removed"
    held.stop()


def test_release_removes_the_document_by_holder_even_after_the_worker_renewed_it(store):
    command = lease(store).acquire()
    worker = lease(store).adopt(command.holder_id)
    assert worker.renew()
    command.release()
    assert store.get(KEY) is None
    count = len(store.puts)
    command.release()  # harmless
    assert command.renew() is False and len(store.puts) == count and not command.lost  # let go: no writes
    held = lease(store).acquire()
    store.inner.delete(KEY)  # removed before it could notice
    held.release()
    assert store.get(KEY) is None


def test_release_leaves_another_holders_document_alone(store):
    mine = lease(store).acquire()
    blob, _ = read(store, KEY)
    other = lease(store, command="provision destroy dev").take_from(blob.etag, note="")
    mine.release()  # it has not renewed since: it does not know yet
    assert read(store, KEY)[1].holder == other.holder_id


# ---------------------------------------------------------------- a shared home


@pytest.fixture
def team(tmp_path, monkeypatch, store) -> Store:
    """A bucket home whose documents live in a folder (no server): what two machines share."""
    monkeypatch.setenv("ZENPROVISION_HOME", "s3://team-bucket/zp")
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "laptop"))
    monkeypatch.setattr("zenprovision.home.objects", lambda: store)
    yield store
    leftover = dict(shared._HELD)
    shared._HELD.clear()
    assert not leftover, f"a test kept a lease: {leftover}"


def another_machine(store, key: str = KEY, command: str = "provision deploy dev") -> Lease:
    return Lease(store.inner, key, "stack 'dev'", HINT, seconds=600, command=command).acquire()


def test_the_shared_home_picks_the_lease_kinds(team):
    assert locks.is_shared()
    assert isinstance(locks.StackLock("dev"), shared.LeaseStackLock)
    assert isinstance(locks.RunLease("dev", "r1"), shared.LeaseRunLease)
    assert isinstance(locks.DestroyLease("dev"), shared.LeaseDestroyLease)
    with locks.RunLease("dev", "r1"):
        assert [r["run_id"] for r in locks.active_runs("dev")] == ["r1"]


def test_a_shared_stack_lock_is_held_reentrantly_and_refused_to_other_machines(team):
    shared.LeaseStackLock("dev").release()  # a release without a hold is harmless
    lock = shared.LeaseStackLock("dev")
    assert lock.handoff() is None
    with lock:
        holder = read(team, KEY)[1]
        assert holder.pid == os.getpid() and lock.stale_holder is None
        assert lock.handoff() == {"stack": "dev", "holder": holder.holder}
        assert shared.current_holder("dev") == (team.get(KEY).etag, holder)
        with pytest.raises(StackLockedError) as refused:
            another_machine(team)
        assert refused.value.hint == HINT
        with shared.LeaseStackLock("dev") as inner:
            assert inner.lease is lock.lease and inner.stale_holder is None
        assert read(team, KEY)[1].holder == holder.holder  # the inner release let nothing go
        shared.fence("dev")
    assert team.get(KEY) is None and shared.current_holder("dev") == (None, None)
    lock.release()  # harmless
    shared.fence("dev")  # nothing held: nothing to check
    another_machine(team).release()


def test_a_shared_stack_lock_held_by_another_machine_is_refused_naming_it(team):
    other = another_machine(team)
    with pytest.raises(StackLockedError) as refused:
        shared.LeaseStackLock("dev").acquire()
    assert refused.value.message.startswith(f"stack 'dev' is locked by {other.record.who()} since ")
    assert refused.value.hint == HINT


def test_a_shared_stack_lock_reports_the_expired_holder_it_took_over(team):
    gone = another_machine(team)
    age(team, 601)
    with shared.LeaseStackLock("dev") as lock:
        assert lock.stale_holder.holder == gone.holder_id
        assert lock.stale_holder.who().endswith("provision deploy dev)")


def test_the_fence_stops_a_holder_whose_lease_was_taken(team):
    with shared.LeaseStackLock("dev"):
        blob, current = read(team, KEY)
        Lease(team.inner, KEY, "stack 'dev'", HINT, command="provision unlock dev --force").take_from(
            blob.etag, note="forced")
        with pytest.raises(LockLostError, match="taken over by .*provision unlock dev --force"):
            locks.fence("dev")
    assert read(team, KEY)[1].command == "provision unlock dev --force"  # its release left it alone


def test_unlock_force_takes_the_lease_from_its_holder_and_holds_it(team):
    stuck = another_machine(team)
    previous = read(team, KEY)[1]
    lock = shared.force_take("dev", previous)
    try:
        current = read(team, KEY)[1]
        assert current.holder == lock.lease.holder_id and current.pid == os.getpid()
        assert current.note == f"taken from {previous.who()} by provision unlock --force"
        assert lock.stale_holder == previous and lock.stack == "dev"
        with shared.LeaseStackLock("dev") as inner:  # held as an acquire would hold it
            assert inner.lease is lock.lease
        shared.fence("dev")
        assert stuck.renew() is False and "taken over by" in stuck.lost
        blob, _ = read(team, KEY)
        Lease(team.inner, KEY, "stack 'dev'", HINT, command="provision destroy dev").take_from(blob.etag, note="")
        with pytest.raises(LockLostError) as lost:
            locks.fence("dev")  # a forced hold is fenced like any other
        assert lost.value.message.startswith("stack 'dev': this command lost its lock (it was taken over by ")
    finally:
        lock.release()
    assert read(team, KEY)[1].command == "provision destroy dev"  # its release left the new holder alone


def test_a_forced_lock_released_is_marked_so_its_old_holder_learns_why(team):
    another_machine(team)
    shared.force_take("dev", read(team, KEY)[1]).release()
    after = read(team, KEY)[1]
    assert after.released and after.note.startswith("taken from ")


def test_unlock_force_retries_while_the_holder_renews_and_refuses_a_new_holder(team):
    another_machine(team)
    previous = read(team, KEY)[1]
    team.before_put = conflicts(1)  # its holder renewed between our read and our write
    lock = shared.force_take("dev", previous)
    assert read(team, KEY)[1].holder == lock.lease.holder_id
    lock.release()
    with pytest.raises(StackLockedError) as refused:
        shared.force_take("dev", previous)  # released meanwhile: no document
    assert refused.value.message == "the lock of stack 'dev' changed hands while it was being taken"
    assert refused.value.hint == "see who holds it now: provision unlock dev"
    team.inner.delete(KEY)
    another_machine(team, command="provision destroy dev")
    with pytest.raises(StackLockedError, match="changed hands"):
        shared.force_take("dev", previous)


def test_unlock_force_never_takes_a_damaged_lock_or_one_that_changed_hands_meanwhile(team):
    another_machine(team)
    previous = read(team, KEY)[1]
    good = team.get(KEY).data
    team.inner.put(KEY, b"{damaged")
    with pytest.raises(StackLockedError, match="changed hands"):
        shared.force_take("dev", previous)
    team.inner.put(KEY, good)
    age(team, 601)

    def another_taker(key: str) -> None:  # just after unlock --force read it, its lease expired and was taken
        another_machine(team, command="provision destroy dev")

    team.after_get = another_taker
    with pytest.raises(StackLockedError, match="changed hands"):
        shared.force_take("dev", previous)
    assert read(team, KEY)[1].command == "provision destroy dev"


def test_unlock_force_gives_up_on_a_holder_that_keeps_renewing(team):
    another_machine(team)
    previous = read(team, KEY)[1]
    team.before_put = conflicts(1000)
    with pytest.raises(StackLockedError) as refused:
        shared.force_take("dev", previous)
    assert refused.value.message == "stack 'dev': its holder kept renewing the lock while it was being taken"
    assert refused.value.hint == "it is alive; stop it first, then: provision unlock dev --force"
    assert read(team, KEY)[1] == previous


def test_releasing_a_forced_lock_someone_took_since_leaves_theirs_alone(team):
    another_machine(team)
    lock = shared.force_take("dev", read(team, KEY)[1])
    blob, _ = read(team, KEY)
    Lease(team.inner, KEY, "stack 'dev'", HINT, command="provision destroy dev").take_from(blob.etag, note="again")
    lock.release()
    current = read(team, KEY)[1]
    assert current.command == "provision destroy dev" and not current.released


def test_the_engine_worker_keeps_the_commands_lease_and_hands_it_back(team):
    command = another_machine(team)  # the command's process holds it; this process is its worker
    worker = shared.adopt("dev", command.holder_id)
    try:
        shared.fence("dev")
        assert worker.holder_id == command.holder_id
    finally:
        shared.let_go(worker, release=False)
    assert read(team, KEY)[1].holder == command.holder_id  # handed back: the command still holds it
    locks.fence("dev")  # the worker holds nothing any more
    with pytest.raises(StackLockedError):
        shared.LeaseStackLock("dev").acquire()  # nor takes it again as its own
    shared.let_go(shared.adopt("dev", command.holder_id), release=True)  # the command is gone: let go for it
    assert team.get(KEY) is None


def test_the_fence_stops_a_worker_whose_commands_lease_was_taken(team):
    command = another_machine(team)
    worker = shared.adopt("dev", command.holder_id)
    try:
        blob, _ = read(team, KEY)
        Lease(team.inner, KEY, "stack 'dev'", HINT, command="provision unlock dev --force").take_from(
            blob.etag, note="forced")
        with pytest.raises(LockLostError) as lost:
            locks.fence("dev")
        assert lost.value.message.startswith("stack 'dev': this command lost its lock (it was taken over by ")
        assert "provision unlock dev --force" in lost.value.message
    finally:
        shared.let_go(worker, release=True)
    assert read(team, KEY)[1].command == "provision unlock dev --force"


def test_a_run_marker_is_refused_while_a_destroy_holds_the_stack(team):
    destroy = another_machine(team, key="locks/dev.destroy.json", command="provision destroy dev")
    with pytest.raises(StackLockedError) as refused:
        shared.LeaseRunLease("dev", "r1").acquire()
    assert refused.value.message == f"stack 'dev' is being destroyed by {destroy.record.who()}"
    assert refused.value.hint == "wait for the destroy to finish; then the stack is gone"
    assert team.names("locks/dev.runs", ".json") == []
    age(team, 601, key="locks/dev.destroy.json")  # that destroy died: runs start again
    run = shared.LeaseRunLease("dev", "r1").acquire()
    run.release()


def test_a_run_id_in_use_is_refused(team):
    with shared.LeaseRunLease("dev", "r1"):
        with pytest.raises(StackLockedError) as refused:
            shared.LeaseRunLease("dev", "r1").acquire()
        assert refused.value.message.startswith("run r1 is locked by ")
        assert refused.value.hint == "run ids are unique: start the run again"


def test_a_second_destroy_is_refused_naming_the_first(team):
    first = shared.LeaseDestroyLease("dev")
    assert first.try_acquire()
    try:
        with pytest.raises(StackLockedError) as refused:
            shared.LeaseDestroyLease("dev").try_acquire()
        who = read(team, "locks/dev.destroy.json")[1].who()
        assert refused.value.message.startswith(f"stack 'dev' is locked by {who} since ")
        assert refused.value.hint == HINT
    finally:
        first.release()


def test_an_abort_request_for_a_run_gone_or_damaged_does_nothing(team):
    team.inner.put("locks/dev.runs/damaged.json", b"{oops")
    assert not shared.request_abort("dev", "damaged", "bob")
    assert team.get("locks/dev.runs/damaged.json").data == b"{oops"
    run = another_machine(team, key="locks/dev.runs/r1.json")
    team.after_get = lambda key: run.release()  # the run ends just after the request read its marker
    assert not shared.request_abort("dev", "r1", "bob")
    assert team.get("locks/dev.runs/r1.json") is None  # no marker brought back for a run that ended


def test_a_live_run_is_listed_and_its_marker_removed_when_it_ends(team):
    with shared.LeaseRunLease("dev", "r1") as run:
        assert run.key == "locks/dev.runs/r1.json"
        [live] = shared.active_runs("dev")
        assert live == {"run_id": "r1", "pid": os.getpid(), "host": socket.gethostname(),
                        "user": read(team, run.key)[1].user, "started": live["started"]}
        assert live["started"] > 0 and read(team, run.key)[1].extra["run_id"] == "r1"
    assert team.names("locks/dev.runs", ".json") == [] and shared.active_runs("dev") == []
    run.release()  # harmless


def test_markers_of_dead_or_damaged_runs_are_removed(team):
    another_machine(team, key="locks/dev.runs/dead.json").stop()
    age(team, 601, key="locks/dev.runs/dead.json")
    team.inner.put("locks/dev.runs/damaged.json", b"{oops")
    live = another_machine(team, key="locks/dev.runs/live.json")
    assert [run["run_id"] for run in shared.active_runs("dev")] == ["live"]
    assert team.names("locks/dev.runs", ".json") == ["live"]
    assert shared.active_runs("dev")[0]["started"] == 0  # a marker without a start time
    live.release()


def test_a_run_told_to_stop_is_interrupted_as_by_ctrl_c(team, monkeypatch):
    signals = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: signals.append((pid, sig)))  # what the run would get
    run = shared.LeaseRunLease("dev", "r1").acquire()
    try:
        run.lease.stop()  # renewed by hand below instead of by the heartbeat
        assert shared.request_abort("dev", "r1", "bob@ci (provision destroy --force)")
        assert read(team, run.key)[1].abort == "bob@ci (provision destroy --force)"
        assert signals == []
        assert run.lease.renew() is False
        assert signals == [(os.getpid(), signal.SIGINT)]
    finally:
        run.release()
    assert not shared.request_abort("dev", "r1", "again")  # nothing to stop


def test_an_abort_request_retries_while_the_run_renews(team):
    another_machine(team, key="locks/dev.runs/r1.json")
    team.before_put = conflicts(1)
    assert shared.request_abort("dev", "r1", "bob")
    assert read(team, "locks/dev.runs/r1.json")[1].abort == "bob"
    team.before_put = conflicts(1000)
    assert not shared.request_abort("dev", "r1", "carol")
    assert read(team, "locks/dev.runs/r1.json")[1].abort == "bob"


def test_a_destroy_holds_its_marker_and_proceeds_once_no_run_is_live(team):
    run = shared.LeaseRunLease("dev", "r1").acquire()
    destroy = shared.LeaseDestroyLease("dev")
    assert not destroy.try_acquire() and not destroy.wait(0)
    assert read(team, "locks/dev.destroy.json")[1].pid == os.getpid()
    assert not destroy.try_acquire()  # asking again keeps the same marker
    with pytest.raises(StackLockedError, match="being destroyed"):
        shared.LeaseRunLease("dev", "r2").acquire()
    team.on_names = run.release  # the run ends while the destroy waits
    assert destroy.wait(600)
    destroy.release()
    destroy.release()  # harmless
    assert team.get("locks/dev.destroy.json") is None
