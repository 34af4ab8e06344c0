"""kill -9 in the middle of an apply, and two deploys of one stack at once."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import servers_under
from zenprovision.stacks import store


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


def test_second_deploy_of_the_same_stack_fails_at_once(home, cli):
    first = start_deploy("dev")
    wait_for_pending(home, "dev", "model-server")
    started = time.monotonic()
    second = cli("recipe", "local", "--stack", "dev", "--yes")
    assert time.monotonic() - started < 10
    assert second.code == 1
    assert "is locked by PID" in second.err
    assert first.wait(60) == 0, first.stderr.read()
    assert len(servers_under(home)) == 1
    assert cli("destroy", "dev", "--yes").code == 0


def test_ctrl_c_mid_apply_saves_state_and_next_deploy_converges(home, cli):
    proc = start_deploy("dev")
    wait_for_pending(home, "dev", "model-server")
    os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(60)
    # The server being started finishes; if it was the last resource the apply completes.
    assert code == 0 or (code == 130 and "interrupted" in proc.stderr.read().lower())
    result = cli("recipe", "local", "--stack", "dev", "--yes")
    assert result.code == 0, result.err
    assert len(servers_under(home)) == 1
    assert cli("destroy", "dev", "--yes").code == 0
    assert servers_under(home) == []


def test_ctrl_c_stops_before_the_next_resource_and_state_stays_true(home, cli, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    proc = start_deploy("f", "files", "-c", f"dir={folder}", "-c", "slow=1")
    _wait_for_any_pending(home, "f")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(60) == 130
    assert "interrupted" in proc.stderr.read()
    state = json.loads((home / "state" / "f.json").read_text())
    made = {r["name"] for r in state["resources"]}
    assert len(made) == 1 and state["pending"] == []  # the step in flight finished and was recorded
    assert sorted(p.name for p in folder.iterdir() if p.name != "operations.log") == sorted(made)
    result = cli("recipe", "files", "--stack", "f", "-c", f"dir={folder}", "-c", "slow=0", "--yes")
    assert result.code == 0, result.err
    assert {r["name"] for r in json.loads((home / "state" / "f.json").read_text())["resources"]} == {"a", "b", "index"}


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
