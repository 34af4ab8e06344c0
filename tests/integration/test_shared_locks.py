"""Two machines, one shared home on S3 (a moto server): locks across machines, end to end.

Each "machine" is the real CLI with its own ``ZENPROVISION_LOCAL_HOME`` and the same
``ZENPROVISION_HOME=s3://...``. Deploys of the ``files`` fixture recipe are held mid-apply
at a gate for as long as a test needs, whatever the machine's load; leases are short
(``ZENPROVISION_LEASE_SECONDS``) and every wait for one is generous.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from tests.integration.test_interruption import finish, release, wait_until_held
from tests.servers import unique_bucket_name
from zenprovision import home
from zenprovision.engines.embedded import state
from zenprovision.locks.lease import read, utcnow
from zenprovision.stacks import registry, store

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # real CLI processes on a moto server

LEASE = 6  # seconds: short, but many heartbeats long
HOLDER = r"\S+@\S+ \(PID {pid}, provision recipe files\) since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC; the lease expires in \d+ s"


@pytest.fixture
def team(moto_server, s3_client, fixture_recipes, tmp_path, monkeypatch):
    """A shared home in a fresh bucket; this test process looks at it as machine ``alice``."""
    bucket = unique_bucket_name("team")
    s3_client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("ZENPROVISION_HOME", f"s3://{bucket}/zp")
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "alice"))
    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", str(LEASE))
    return tmp_path


def machine(team, name: str) -> dict[str, str]:
    return {"ZENPROVISION_LOCAL_HOME": str(team / name)}


def start_deploy(team, stack: str, who: str = "alice", *config: str) -> subprocess.Popen:
    """A deploy of ``files`` from machine ``who``, each create held at the gate until released."""
    args = ["recipe", "files", "--stack", stack, "-c", f"dir={team / stack}", "-c", f"gate={team / 'gate'}", *config]
    return subprocess.Popen([sys.executable, "-m", "zenprovision", *args, "--yes"],
                            env={**os.environ, **machine(team, who)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def deploy(cli, team, stack: str, who: str, *args: str):
    return cli("recipe", "files", "--stack", stack, "-c", f"dir={team / stack}", "--yes", *args,
               env=machine(team, who))


def log_of(team, stack: str) -> list[list[str]]:
    path = team / stack / "operations.log"
    return sorted(json.loads(line) for line in path.read_text().splitlines()) if path.exists() else []


def lease_of(stack: str):
    return read(home.objects(), f"locks/{stack}.json")[1]


def wait_until(condition, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.2)


def converged(team, stack: str) -> None:
    """State, stack config and record agree: every file once, nothing pending."""
    saved = state.load(stack)
    assert {r.name for r in saved.resources} == {"a", "b", "index"} and saved.pending == []
    assert store.exists(stack) and registry.load(stack).status == "active"
    assert sorted({tuple(entry) for entry in log_of(team, stack)}) == [("create", "a"), ("create", "b"),
                                                                        ("create", "index")]


def test_two_machines_racing_for_one_stack_never_both_write(team, cli):
    alice = start_deploy(team, "f")
    try:
        wait_until_held(alice, team / "gate")
        raced = deploy(cli, team, "f", "bob")
        destroyed = cli("destroy", "f", "--yes", env=machine(team, "bob"))
        shown = cli("unlock", "f", env=machine(team, "bob"))
        assert alice.poll() is None  # bob failed at once: alice is still mid-apply
    finally:
        release(team / "gate", "a", "b", "index")
    code, err = finish(alice)
    assert code == 0, err
    for refused in (raced, destroyed):
        assert refused.code == 1, refused.err
        assert re.search("stack 'f' is locked by " + HOLDER.format(pid=alice.pid), refused.err), refused.err
        assert "provision unlock f --force" in refused.err
    assert shown.code == 2 and re.search(HOLDER.format(pid=alice.pid), shown.err), shown.err
    converged(team, "f")  # bob created nothing: every file was created once
    assert lease_of("f") is None  # released

    gone = cli("destroy", "f", "--yes", env=machine(team, "bob"))  # bob tears down what alice deployed
    assert gone.code == 0, gone.err
    assert not state.exists("f") and not store.exists("f") and registry.load("f") is None
    assert [e for e in log_of(team, "f") if e[0] == "delete"] == [["delete", "a"], ["delete", "b"], ["delete", "index"]]


def test_a_killed_holders_lease_expires_and_the_next_command_converges(team, cli):
    alice = start_deploy(team, "k")
    held = wait_until_held(alice, team / "gate")
    os.killpg(alice.pid, signal.SIGKILL)  # the command and its engine worker, mid-create
    alice.wait()
    assert [p["name"] for p in state.load("k").pending] == [held]  # as a local home leaves it
    assert registry.load("k").status == "deploying"
    wait_until(lambda: lease_of("k").free(utcnow()), "the lease's expiry", timeout=LEASE * 10)

    result = deploy(cli, team, "k", "bob")
    assert result.code == 0, result.err
    converged(team, "k")
    ops = registry.load("k").operations
    assert [(o.op, o.result) for o in ops] == [("deploy", "running"), ("deploy", "succeeded")]


def test_the_engine_worker_keeps_the_lease_after_its_command_is_killed(team, cli):
    alice = start_deploy(team, "w")
    wait_until_held(alice, team / "gate")
    os.kill(alice.pid, signal.SIGKILL)  # the command only: its worker finishes the create in flight
    alice.wait()
    try:
        time.sleep(LEASE + 1)  # the command's heartbeat is gone; the worker's holds the lease
        refused = deploy(cli, team, "w", "bob")
        assert refused.code == 1 and re.search(HOLDER.format(pid=alice.pid), refused.err), refused.err
    finally:
        release(team / "gate", "a", "b", "index")
    wait_until(lambda: lease_of("w") is None, "the worker's release of the lease")
    # then stops, as at Ctrl-C: its command is gone, nobody watches what it would go on creating
    assert state.load("w").pending == [] and len(state.load("w").resources) == 1

    result = deploy(cli, team, "w", "bob")  # no waiting for an expiry: the worker let go when done
    assert result.code == 0, result.err
    converged(team, "w")


def test_unlock_force_takes_the_lease_and_its_old_holder_stops_writing(team, cli):
    alice = start_deploy(team, "u")
    try:
        held = wait_until_held(alice, team / "gate")
        forced = cli("unlock", "u", "--force", env=machine(team, "bob"))
        assert forced.code == 0, forced.err
        assert re.search(f"Took the lock of stack u from {HOLDER.format(pid=alice.pid)}".replace("recipe files", "recipe files"),
                         forced.err.replace("\n", " ")), forced.err
    finally:
        release(team / "gate", "a", "b", "index")
    code, err = finish(alice)
    assert code == 1 and "lost its lock" in err and "unlock --force" in err, err
    saved = state.load("u")  # the write after the held create was fenced off: it is still pending
    assert saved.resources == [] and [p["name"] for p in saved.pending] == [held]
    assert log_of(team, "u") == [["create", held]]  # and nothing started after it
    record = registry.load("u")  # alice wrote nothing after losing the lock, not even her failure
    assert [(o.op, o.result) for o in record.operations] == [("deploy", "running"), ("force-unlock", "succeeded")]
    assert record.status == "deploying"
    assert record.operations[-1].command == "unlock" and record.operations[-1].result == "succeeded"

    result = deploy(cli, team, "u", "bob")
    assert result.code == 0, result.err
    saved = state.load("u")
    assert {r.name for r in saved.resources} == {"a", "b", "index"} and saved.pending == []


def test_teardown_from_two_machines_at_once_destroys_each_stack_once(team, cli):
    for stack in ("t1", "t2"):
        assert deploy(cli, team, stack, "alice", "--ttl", "1h").code == 0
    later = (utcnow() + timedelta(hours=2)).isoformat()
    runs = [subprocess.Popen([sys.executable, "-m", "zenprovision", "teardown", "--env", "dev", "--expired", "--yes",
                              "--json"], env={**os.environ, **machine(team, who), "ZENPROVISION_NOW": later},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for who in ("alice", "bob")]
    outcomes = []
    for proc in runs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        outcomes += json.loads(out) if out.strip() else []  # one that started late may find nothing
    for stack in ("t1", "t2"):
        results = [o["result"] for o in outcomes if o["stack"] == stack]
        assert results.count("destroyed") == 1 and set(results) <= {"destroyed", "skipped"}, outcomes
        assert [e for e in log_of(team, stack) if e[0] == "delete"] == [["delete", "a"], ["delete", "b"],
                                                                          ["delete", "index"]]
        assert registry.load(stack) is None and not state.exists(stack)
        destroy = registry.history(stack)[-1].operations[-1]
        assert (destroy.op, destroy.result, destroy.command) == ("destroy", "succeeded", "teardown")
    skipped = [o for o in outcomes if o["result"] == "skipped"]
    assert all(re.search(r"already destroyed|is locked by", o["reason"]) for o in skipped), skipped
