"""kill -9 in the middle of an apply, and two deploys of one stack at once."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import servers_under
from zenprovision.stacks import store

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # real local stacks, through the CLI


def start_deploy(stack, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "zenprovision", "recipe", *args, "--stack", stack, "--yes"] if args else
        [sys.executable, "-m", "zenprovision", "recipe", "local", "--stack", stack, "--yes"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def wait_for_pending(home, stack, name, timeout=30):
    path = home / "state" / f"{stack}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pending = json.loads(path.read_text())["pending"]
        except (OSError, ValueError, KeyError):
            pending = []
        if any(p.get("name") == name for p in pending):
            return
        time.sleep(0.02)
    raise AssertionError(f"{name} never started")


def test_sigkill_mid_apply_then_deploy_converges(home, cli):
    proc = start_deploy("dev")
    wait_for_pending(home, "dev", "model-server")
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its engine worker, at once
    proc.wait()
    assert not store.exists("dev")

    result = cli("recipe", "local", "--stack", "dev", "--yes")
    assert result.code == 0, result.err
    state = json.loads((home / "state" / "dev.json").read_text())
    assert state["pending"] == []
    assert {r["name"] for r in state["resources"]} == {"stack-home", "artifact-store", "orchestrator", "model-server"}
    assert len(servers_under(home)) == 1  # a server the killed apply started is not left running twice
    assert cli("destroy", "dev", "--yes").code == 0
    assert servers_under(home) == []


def test_sigkill_mid_apply_then_destroy_cleans_up(home, cli):
    proc = start_deploy("dev")
    wait_for_pending(home, "dev", "model-server")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    result = cli("destroy", "dev", "--yes")
    assert result.code == 0, result.err
    assert servers_under(home) == []
    assert not (home / "local" / "dev").exists()
    assert not (home / "state" / "dev.json").exists()


def held_files_deploy(stack, folder, gate, *config):
    """A deploy of the ``files`` recipe whose creates wait at ``gate`` until released."""
    return start_deploy(stack, "files", "-c", f"dir={folder}", "-c", f"gate={gate}", *config)


def wait_until_held(proc, gate, sign="held", timeout=120) -> str:
    """The name of the file whose create waits at the gate (``sign`` "held"), or has seen
    the Ctrl-C while waiting there ("interrupted"). Creates run one at a time, in an order
    the engine picks."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(gate.glob(f"*.{sign}")) if gate.is_dir() else []
        if found:
            return found[0].name.removesuffix(f".{sign}")
        if proc.poll() is not None:
            raise AssertionError(f"the deploy exited with {proc.returncode} before a create was {sign}:\n"
                                 + proc.stderr.read())
        if time.monotonic() > deadline:
            raise AssertionError(f"no create was {sign} within {timeout} s")
        time.sleep(0.02)


def release(gate, *names):
    for name in names:
        (gate / f"{name}.go").touch()


def finish(proc, timeout=120) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def test_second_deploy_of_the_same_stack_fails_at_once(home, cli, fixture_recipes, tmp_path):
    folder, gate = tmp_path / "files", tmp_path / "gate"
    first = held_files_deploy("f", folder, gate)
    try:
        wait_until_held(first, gate)  # the first deploy is mid-apply, and stays there
        second = cli("recipe", "files", "--stack", "f", "-c", f"dir={folder}", "--yes", timeout=120)
        assert first.poll() is None  # "at once": the second did not wait for the first
        assert second.code == 1, second.out + second.err
        assert "is locked by PID" in second.err, second.err
    finally:
        release(gate, "a", "b", "index")
    code, err = finish(first)
    assert code == 0, err
    log = [json.loads(line) for line in (folder / "operations.log").read_text().splitlines()]
    assert sorted(log) == [["create", "a"], ["create", "b"], ["create", "index"]]  # the second made nothing
    state = json.loads((home / "state" / "f.json").read_text())
    assert {r["name"] for r in state["resources"]} == {"a", "b", "index"} and state["pending"] == []


def test_ctrl_c_mid_apply_saves_state_and_next_deploy_converges(home, cli):
    """What a user is promised on Ctrl-C: exit 130, the step in flight finishes and is
    recorded, no stack config yet, and the same command again converges."""
    proc = start_deploy("dev")
    wait_for_pending(home, "dev", "model-server")
    os.killpg(proc.pid, signal.SIGINT)
    code, err = finish(proc, 60)
    assert code == 130, err
    assert "interrupted" in err.lower(), err
    state = json.loads((home / "state" / "dev.json").read_text())
    assert state["pending"] == [], err  # the create in flight finished and was recorded
    assert "model-server" in {r["name"] for r in state["resources"]}, err
    assert not store.exists("dev"), err  # an interrupted deploy writes no stack config
    assert len(servers_under(home)) == 1
    result = cli("recipe", "local", "--stack", "dev", "--yes")
    assert result.code == 0, result.err
    state = json.loads((home / "state" / "dev.json").read_text())
    assert {r["name"] for r in state["resources"]} == {"stack-home", "artifact-store", "orchestrator", "model-server"}
    assert store.exists("dev")
    assert len(servers_under(home)) == 1
    assert cli("destroy", "dev", "--yes").code == 0
    assert servers_under(home) == []


def test_ctrl_c_stops_before_the_next_resource_and_state_stays_true(home, cli, fixture_recipes, tmp_path):
    folder, gate = tmp_path / "files", tmp_path / "gate"
    proc = held_files_deploy("f", folder, gate)
    try:
        held = wait_until_held(proc, gate)
        os.killpg(proc.pid, signal.SIGINT)
        assert wait_until_held(proc, gate, sign="interrupted") == held  # seen while it was in flight
    finally:
        release(gate, "a", "b", "index")
    code, err = finish(proc, 60)
    assert code == 130, err
    assert "interrupted" in err, err
    state = json.loads((home / "state" / "f.json").read_text())
    assert {r["name"] for r in state["resources"]} == {held} and state["pending"] == [], err
    assert sorted(p.name for p in folder.iterdir()) == sorted([held, "operations.log"])  # nothing else started
    assert not store.exists("f")
    result = cli("recipe", "files", "--stack", "f", "-c", f"dir={folder}", "--yes")
    assert result.code == 0, result.err
    assert {r["name"] for r in json.loads((home / "state" / "f.json").read_text())["resources"]} == {"a", "b", "index"}
    log = [json.loads(line) for line in (folder / "operations.log").read_text().splitlines()]
    assert sorted(log) == [["create", "a"], ["create", "b"], ["create", "index"]]  # none was made twice


def _wait_for_any_pending(home, stack, timeout=30):
    path = home / "state" / f"{stack}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(path.read_text())["pending"]:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    raise AssertionError("no operation started")


def test_the_engine_worker_keeps_the_lock_when_its_cli_is_killed(home, cli, fixture_recipes, tmp_path):
    """The apply's worker, started before the plan, gets the lock with its job (issue 15): it holds
    it alone once the CLI is gone, until the state is consistent; then it stops, as at Ctrl-C,
    rather than go on creating what nobody watches (red team: a killed destroy went on)."""
    import psutil

    folder, gate = tmp_path / "files", tmp_path / "gate"
    first = held_files_deploy("f", folder, gate)
    try:
        held = wait_until_held(first, gate)
        first.kill()  # the CLI only: its worker lives on, mid-create
        first.wait()
        deadline = time.monotonic() + 60
        while not (gate / f"{held}.interrupted").exists():  # it saw its command go, mid-create
            assert time.monotonic() < deadline, "the worker never noticed that its command was killed"
            time.sleep(0.02)
        second = cli("recipe", "files", "--stack", "f", "-c", f"dir={folder}", "--yes", timeout=120)
        assert second.code == 1 and "(zenprovision engine worker)" in second.err, second.err
        worker = psutil.Process(int(second.err.split("locked by PID ")[1].split()[0]))
    finally:
        release(gate, "a", "b", "index")
    worker.wait(120)
    state = json.loads((home / "state" / "f.json").read_text())
    assert {r["name"] for r in state["resources"]} == {held} and state["pending"] == []
    assert cli("stacks").out.split("\n")[1].split()[-2:] == ["deploy", "interrupted"]
    result = cli("recipe", "files", "--stack", "f", "-c", f"dir={folder}", "--yes", timeout=120)
    assert result.code == 0, result.err
    assert {r["name"] for r in json.loads((home / "state" / "f.json").read_text())["resources"]} == {"a", "b", "index"}


def test_sigterm_stops_a_deploy_as_ctrl_c_does(home, cli, fixture_recipes, tmp_path):
    """What a CI job's cancel or `timeout` sends, to the CLI alone: the worker finishes the create
    in flight and starts no other, the record says the deploy failed, the next deploy converges."""
    folder, gate = tmp_path / "files", tmp_path / "gate"
    proc = held_files_deploy("f", folder, gate)
    try:
        held = wait_until_held(proc, gate)
        proc.send_signal(signal.SIGTERM)
        assert wait_until_held(proc, gate, sign="interrupted") == held
    finally:
        release(gate, "a", "b", "index")
    code, err = finish(proc, 60)
    assert code == 130, err
    state = json.loads((home / "state" / "f.json").read_text())
    assert {r["name"] for r in state["resources"]} == {held} and state["pending"] == []
    assert json.loads((home / "registry" / "f.json").read_text())["status"] == "deploy-failed"
    result = cli("recipe", "files", "--stack", "f", "-c", f"dir={folder}", "--yes", timeout=120)
    assert result.code == 0, result.err
