"""The lease under a shared home's stack lock, on a folder and on S3 (moto): who may take it, when.

Expiry is shown without waiting for it: a lease document whose ``renewed`` lies in the past
is what a dead holder leaves behind.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from datetime import timedelta

import pytest

from tests.servers import unique_bucket_name
from zenprovision.errors import InputError, LockLostError, StackLockedError
from zenprovision.homes.location import parse
from zenprovision.homes.objects import open_home
from zenprovision.locks.lease import Holder, Lease, lease_seconds, read, utcnow

KEY = "locks/dev.json"


@pytest.fixture(params=["local", "s3"])
def objects(request, tmp_path):
    if request.param == "local":
        return open_home(parse(str(tmp_path / "home")))
    endpoint = request.getfixturevalue("moto_server")
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    bucket = unique_bucket_name("lease")
    request.getfixturevalue("s3_client").create_bucket(Bucket=bucket)
    return open_home(parse(f"s3://{bucket}/zp"))


def lease(objects, seconds: float = 60, command: str = "provision recipe local") -> Lease:
    return Lease(objects, KEY, "stack 'dev'", "provision unlock dev --force", seconds=seconds, command=command)


def age(objects, seconds_ago: float) -> None:
    """Make the lease document look as its holder left it ``seconds_ago`` (its renewals stopped then)."""
    blob, holder = read(objects, KEY)
    holder.renewed = utcnow() - timedelta(seconds=seconds_ago)
    objects.put(KEY, holder.dump(), if_match=blob.etag)


def test_a_held_lease_is_refused_naming_its_holder_and_since_when(objects):
    mine = lease(objects).acquire()
    with pytest.raises(StackLockedError) as refused:
        lease(objects, command="provision destroy dev").acquire()
    message = refused.value.message
    assert message.startswith(f"stack 'dev' is locked by {mine.record.user}@{socket.gethostname()} "
                              f"(PID {os.getpid()}, provision recipe local) since "), message
    assert re.search(r" since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; the lease expires in (60|59) s$", message), message
    assert refused.value.hint == "provision unlock dev --force"
    assert read(objects, KEY)[1].holder == mine.holder_id  # the refused taker wrote nothing


def test_takeover_only_after_expiry_or_release(objects):
    first = lease(objects, seconds=30).acquire()
    age(objects, 20)  # 10 s left
    with pytest.raises(StackLockedError, match="the lease expires in 1[01] s"):
        lease(objects).acquire()
    age(objects, 31)  # its holder stopped renewing 31 s ago: expired
    second = lease(objects).acquire()
    assert second.previous is not None and second.previous.holder == first.holder_id
    assert read(objects, KEY)[1].holder == second.holder_id
    second.release()
    assert objects.get(KEY) is None  # released: the document is gone, the next taker creates it
    forced = lease(objects).acquire()
    forced.record.note = "taken from alice@laptop by provision unlock --force"
    forced.release()  # a lease taken by force leaves a released marker saying so
    marker = read(objects, KEY)[1]
    assert marker.released and marker.holder == forced.holder_id and "unlock --force" in marker.note
    third = lease(objects).acquire()
    assert third.previous is None  # a released lease is taken without a stale holder to report


def test_of_racing_takers_of_an_expired_lease_exactly_one_wins(objects):
    lease(objects).acquire()
    age(objects, 120)
    winners, refused, barrier = [], [], threading.Barrier(5)

    def take() -> None:
        candidate = lease(objects)
        barrier.wait()
        try:
            winners.append(candidate.acquire().holder_id)
        except StackLockedError as exc:
            refused.append(exc.message)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(refused) == 4, (winners, refused)
    assert read(objects, KEY)[1].holder == winners[0]


def test_a_holder_whose_lease_was_taken_over_loses_it_and_the_fence_stops_it(objects):
    stalled = lease(objects, seconds=30).acquire()
    age(objects, 40)  # it stalled (a suspended laptop) past its lease
    taker = lease(objects, command="provision destroy dev").acquire()
    assert stalled.renew() is False
    assert "taken over by" in stalled.lost and "provision destroy dev" in stalled.lost
    with pytest.raises(LockLostError, match="lost its lock"):
        stalled.check()
    stalled.release()  # releasing a lost lease must not touch the taker's document
    current = read(objects, KEY)[1]
    assert current.holder == taker.holder_id and not current.released
    taker.check()  # the taker's fence passes


def test_a_stale_fence_renews_first_and_passes_when_nobody_took_it(objects):
    holder = lease(objects, seconds=30).acquire()
    age(objects, 40)  # expired, but nobody came: the If-Match renewal proves it is still ours
    holder._renewed -= 40
    holder.check()
    assert read(objects, KEY)[1].free(utcnow()) is False


def test_the_worker_adopts_the_commands_lease_and_both_renew_it(objects):
    command = lease(objects).acquire()
    worker = Lease(objects, KEY, "stack 'dev'", "", seconds=60).adopt(command.holder_id)
    for _ in range(3):  # interleaved renewals: each finds the other's write and goes on
        assert worker.renew() and command.renew()
    assert not command.lost and not worker.lost
    assert read(objects, KEY)[1].pid == os.getpid()  # the document still names the command
    with pytest.raises(LockLostError):
        Lease(objects, KEY, "stack 'dev'", "", seconds=60).adopt("someone-else")
    worker.release()  # the command died: its worker lets go for it
    assert objects.get(KEY) is None
    assert command.renew() is False and "removed" in command.lost


def test_the_heartbeat_keeps_a_short_lease_alive(objects):
    held = lease(objects, seconds=3).acquire().start_heartbeat()
    try:
        time.sleep(5)  # longer than the lease: only renewals keep it
        with pytest.raises(StackLockedError):
            lease(objects).acquire()
        assert not held.lost
    finally:
        held.release()
    lease(objects).acquire()


def test_an_abort_request_ends_the_hold_at_the_next_renewal(objects):
    run = lease(objects).acquire()
    blob, marker = read(objects, KEY)
    marker.abort = "bob@ci (provision destroy --force)"
    objects.put(KEY, marker.dump(), if_match=blob.etag)
    stopped = []
    run.on_lost = stopped.append
    assert run.renew() is False
    assert stopped == ["bob@ci (provision destroy --force) asked it to stop"]


def test_a_damaged_lease_document_holds_nothing(objects):
    objects.put(KEY, b"{not json")
    assert lease(objects).acquire().previous is None
    assert Holder.load(b'{"holder": 1}') is None


def test_lease_seconds_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("ZENPROVISION_LEASE_SECONDS", raising=False)
    assert lease_seconds() == 60
    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", "5")
    assert lease_seconds() == 5
    for bad in ("0", "-3", "soon", "nan", "inf"):
        monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", bad)
        with pytest.raises(InputError) as caught:
            lease_seconds()
        assert caught.value.exit_code == 2 and "ZENPROVISION_LEASE_SECONDS" in caught.value.message


def test_the_fence_catches_a_lease_taken_by_force_right_after_a_renewal(objects):
    holder = lease(objects).acquire()
    assert holder.renew()
    blob, current = read(objects, KEY)
    lease(objects, command="provision unlock dev --force").take_from(blob.etag, note=f"taken from {current.who()}")
    with pytest.raises(LockLostError, match="taken over by .*provision unlock dev --force"):
        holder.check()  # no expiry needed: the check's own If-Match write finds the new holder
