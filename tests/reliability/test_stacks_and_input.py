"""Stacks under concurrent commands, damaged files and bad input (issue 12, items 7, 8, 11, 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.runtime.conftest import make_stack
from zenprovision.runtime.metadata import MetadataStore

WAITING_PIPELINE = """
import os, time
from pathlib import Path
from zenprovision import pipeline, step

@step
def wait() -> int:
    Path(os.environ["ZP_MARK"]).write_text(str(os.getpid()))
    while not Path(os.environ["ZP_MARK"] + ".go").exists():
        time.sleep(0.05)
    return 1

@step
def after(x: int) -> int:
    return x + 1

@pipeline
def waiting():
    after(wait())
"""

HOLD_LOCK = """
import sys, time
from zenprovision.locks import StackLock
with StackLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def one_line_error(result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def wait_for(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def running(home, tmp_path, monkeypatch):
    """A pipeline run on stack `rt`, stopped inside its first step until `.go` appears."""
    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    mark = tmp_path / "mark"
    monkeypatch.setenv("ZP_MARK", str(mark))
    target = tmp_path / "waiting.py"
    target.write_text(WAITING_PIPELINE)
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", str(target), "--stack", "rt"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for(lambda: mark.exists() or proc.poll() is not None)
    assert proc.poll() is None, proc.stderr.read()
    yield proc, mark
    if proc.poll() is None:
        os.killpg(proc.pid, 9)
        proc.wait(30)


@pytest.mark.slow
def test_destroy_refuses_while_a_run_holds_the_stack(running, home, cli):
    proc, mark = running
    run_id = MetadataStore("rt").runs()[0]["id"]
    refused = cli("destroy", "rt", "--yes")
    assert refused.code == 1
    assert f"stack 'rt' is in use by run {run_id}" in one_line_error(refused) and "--force" in refused.err
    assert (home / "stacks" / "rt.yaml").exists() and not (home / "registry" / "rt.json").exists()
    Path(f"{mark}.go").write_text("")
    assert proc.wait(60) == 0, proc.stderr.read()
    assert MetadataStore("rt").runs()[0]["status"] == "succeeded"
    assert cli("destroy", "rt", "--yes").code == 0  # the run ended: its lease went with it


@pytest.mark.slow
def test_destroy_force_aborts_the_run_and_nothing_is_written_after_it(running, home, cli):
    proc, mark = running
    run_id = MetadataStore("rt").runs()[0]["id"]
    destroyed = cli("destroy", "rt", "--yes", "--force")
    assert destroyed.code == 0, destroyed.err
    assert proc.wait(60) == 130
    assert "aborted" in proc.stderr.read()
    run = MetadataStore("rt", create=False).run(run_id)
    assert run["status"] == "aborted" and "destroy --force" in run["error"]
    Path(f"{mark}.go").write_text("")  # were the step still running, it would now write its output
    time.sleep(1)
    assert not list((home / "artifacts").rglob("*meta.json"))
    assert not (home / "stacks" / "rt.yaml").exists()


def test_a_run_cannot_start_while_the_stack_is_being_destroyed(home):
    from zenprovision.errors import StackLockedError
    from zenprovision.locks import DestroyLease, RunLease, active_runs

    lease = DestroyLease("rt")
    assert lease.try_acquire()
    try:
        with pytest.raises(StackLockedError, match="being destroyed"):
            RunLease("rt", "r1").acquire()
    finally:
        lease.release()
    with RunLease("rt", "r2"):
        assert [r["run_id"] for r in active_runs("rt")] == ["r2"]
        assert not DestroyLease("rt").try_acquire()
    assert active_runs("rt") == [] and DestroyLease("rt").try_acquire()


def deploy(cli, tmp_path, stack, *args):
    result = cli("recipe", "files", "--stack", stack, "-c", f"dir={tmp_path / stack}", "-c", "files=a", "--yes", *args)
    assert result.code == 0, result.err
    return result


@pytest.mark.slow
def test_a_redeploy_does_not_plan_while_another_command_holds_the_stack(home, cli, fixture_recipes, tmp_path):
    deploy(cli, tmp_path, "s1")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, "s1"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        raced = cli("recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 's1'}", "-c", "files=a", "--yes")
        assert raced.code == 1
        assert "stack 's1' is locked by PID" in one_line_error(raced)
        assert "No changes" not in raced.err
    finally:
        holder.kill()
        holder.wait(30)
    assert "No changes" in deploy(cli, tmp_path, "s1").err


@pytest.mark.parametrize("damage, field", [
    ("{not json", "not valid JSON"),
    ('{"name": "bad", "recipe": "files", "engine": "embedded", "created_at": "2026-01-01T00:00:00Z", '
     '"status": "exploded"}', "field status"),
    ('{"name": "bad", "recipe": "files", "engine": "embedded", "created_at": "2026-01-01T00:00:00Z", '
     '"ttl": "forever", "status": "active"}', "field ttl"),
    # past year 9999: created_at + ttl overflowed and `stacks`, `teardown` failed for every stack (OverflowError)
    ('{"name": "bad", "recipe": "files", "engine": "embedded", "created_at": "2026-01-01T00:00:00Z", '
     '"ttl": "9999999d", "status": "active"}', "field ttl"),
])
def test_one_damaged_record_is_listed_as_damaged_and_the_rest_works(home, cli, fixture_recipes, tmp_path,
                                                                   damage, field):
    deploy(cli, tmp_path, "good")
    record = home / "registry" / "bad.json"
    record.write_text(damage)
    listed = cli("stacks", "--json")
    assert listed.code == 0, listed.err
    rows = {row["name"]: row for row in json.loads(listed.out)}
    assert rows["good"]["status"] == "active"
    assert rows["bad"]["status"] == "damaged"
    assert rows["bad"]["problem"].startswith(f"stack record {record} is damaged: {field}")
    assert "\n" not in rows["bad"]["problem"]
    table = cli("stacks")
    assert table.code == 0 and f"{record} is damaged: {field}" in table.out
    dry = cli("teardown", "--env", "dev", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    outcomes = {o["stack"]: o for o in json.loads(dry.out)}
    assert outcomes["good"]["result"] == "would-destroy" and outcomes["bad"]["result"] == "skipped"
    redeploy = cli("recipe", "files", "--stack", "bad", "-c", f"dir={tmp_path / 'bad'}", "--yes")
    assert redeploy.code == 2 and f"{record} is damaged: {field}" in one_line_error(redeploy)
    assert record.read_text() == damage  # kept for the user to look at


def test_copies_under_names_that_are_no_stack_names_are_left_alone(home, cli, fixture_recipes, tmp_path):
    """`cp stacks/good.yaml stacks/good_old.yaml` before a hand edit made `provision stacks`, `teardown`
    and completion fail for every stack ('invalid stack name'), and `home push` copy the copy to the team."""
    deploy(cli, tmp_path, "good")
    (home / "stacks" / "good_only.yaml").write_bytes((home / "stacks" / "good.yaml").read_bytes())
    assert [row["name"] for row in json.loads(cli("stacks", "--json").out)] == ["good"]  # no copied record: the fast path
    for folder, suffix in (("stacks", ".yaml"), ("registry", ".json"), ("state", ".json")):
        for copy in ("good_old", "good.bak", "Good copy"):
            (home / folder / f"{copy}{suffix}").write_bytes((home / folder / f"good{suffix}").read_bytes())
    listed = cli("stacks", "--json")
    assert listed.code == 0, listed.err
    assert [row["name"] for row in json.loads(listed.out)] == ["good"]
    dry = cli("teardown", "--env", "dev", "--dry-run", "--json")
    assert dry.code == 0 and [o["stack"] for o in json.loads(dry.out)] == ["good"], dry.err
    push = cli("home", "push", str(tmp_path / "team"), "--dry-run")
    assert push.code == 0 and not any(copy in push.out for copy in ("good_old", "good.bak", "Good copy")), push.out
    assert cli("destroy", "good", "--yes").code == 0


def test_the_history_of_a_stack_whose_record_was_removed_says_so(home, cli, fixture_recipes, tmp_path):
    """`provision stacks` lists it from its config; its history said no such stack existed."""
    deploy(cli, tmp_path, "solo")
    (home / "registry" / "solo.json").unlink()  # as the hint for a damaged record allows
    assert [row["name"] for row in json.loads(cli("stacks", "--json").out)] == ["solo"]
    history = cli("stacks", "history", "solo")
    assert history.code == 2 and "no stack named" not in history.err
    assert f"has no recorded operations: its record {home / 'registry' / 'solo.json'} is missing" in one_line_error(history)
    assert cli("destroy", "solo", "--yes").code == 0
    assert "destroy" in cli("stacks", "history", "solo").out


def test_a_record_naming_another_stack_never_acts_as_it(home, cli, fixture_recipes, tmp_path):
    """`cp registry/good.json registry/good-old.json`: destroying good-old removed good's record and archived a
    destroy of good that never happened."""
    deploy(cli, tmp_path, "good")
    copy = home / "registry" / "good-old.json"
    copy.write_bytes((home / "registry" / "good.json").read_bytes())
    record = (home / "registry" / "good.json").read_bytes()
    listed = {row["name"]: row for row in json.loads(cli("stacks", "--json").out)}
    assert listed["good"]["status"] == "active" and listed["good-old"]["status"] == "damaged"
    refused = cli("destroy", "good-old", "--yes")
    assert refused.code == 2
    assert f"{copy} is damaged: field name: says 'good', but the file is stack 'good-old'" in one_line_error(refused)
    assert (home / "registry" / "good.json").read_bytes() == record and copy.exists()
    assert not (home / "history" / "good").exists()
    assert cli("destroy", "good", "--yes").code == 0


def test_a_state_copied_under_another_name_never_destroys_what_it_names(home, cli, fixture_recipes, tmp_path):
    """`cp state/good.json state/good-old.json`, then `destroy good-old` deleted good's resources."""
    deploy(cli, tmp_path, "good")
    files = sorted(p.name for p in (tmp_path / "good").iterdir())
    state = (home / "state" / "good.json").read_bytes()
    copy = home / "state" / "good-old.json"
    copy.write_bytes(state)
    refused = cli("destroy", "good-old", "--yes")
    assert refused.code == 2, refused.err
    assert f"{copy} is damaged: field stack: says 'good', but the file is stack 'good-old'" in one_line_error(refused)
    assert sorted(p.name for p in (tmp_path / "good").iterdir()) == files
    assert (home / "state" / "good.json").read_bytes() == state and copy.exists()
    assert not (home / "registry" / "good-old.json").exists()
    assert "No changes" in deploy(cli, tmp_path, "good").err
    assert cli("destroy", "good", "--yes").code == 0


def test_a_stack_config_naming_another_stack_is_refused(home, cli):
    make_stack("prod-main", {"flavor": "local", "config": {"path": (home / "a").as_uri()}})
    (home / "stacks" / "prod-main.yaml").rename(home / "stacks" / "dev.yaml")
    result = cli("output", "dev")
    assert result.code == 2
    assert "field name: says 'prod-main', but the file is stack 'dev'" in one_line_error(result)
    assert cli("stacks", "--json").code == 0


def test_a_home_that_is_a_file_and_a_config_that_is_a_folder(home, cli, tmp_path):
    (home / "stacks" / "dev.yaml").mkdir(parents=True)
    folder = cli("output", "dev")
    assert folder.code == 2 and "is a folder, not a file" in one_line_error(folder)
    file_home = tmp_path / "a-file"
    file_home.write_text("")
    for args in (["stacks"], ["runs"], ["recipe", "local", "--stack", "dev", "--yes"]):
        result = cli(*args, env={"ZENPROVISION_HOME": str(file_home)})
        assert result.code == 2, args
        assert f"the zenprovision home {file_home} is not a folder" in one_line_error(result)


def test_destroy_of_a_stack_with_a_damaged_state_creates_no_record(home, cli):
    state = home / "state" / "ghost.json"
    state.parent.mkdir(parents=True)
    state.write_text("{damaged")
    result = cli("destroy", "ghost", "--yes")
    assert result.code == 2 and f"engine state {state} is damaged" in result.err
    assert not (home / "registry" / "ghost.json").exists()
    assert state.read_text() == "{damaged"


@pytest.mark.parametrize("args, message", [
    (["run", "x.py"], "Missing option '--stack'"),
    (["stacks", "--bogus"], "No such option '--bogus'"),
    (["nosuch"], "No such command 'nosuch'"),
    (["output", "dev", "--format", "xml"], "Invalid value for '--format'"),
])
def test_usage_errors_are_one_line_with_exit_2(home, cli, args, message):
    result = cli(*args)
    assert result.code == 2
    line = one_line_error(result)
    assert message in line and "--help`" in line


def test_detailed_exitcode_keeps_usage_errors_at_1(home, cli):
    result = cli("plan", "local", "--detailed-exitcode", "--bogus")
    assert result.code == 1 and "No such option" in one_line_error(result)


def test_pipeline_and_step_names_run_through_the_cli_in_one_line(home, cli, tmp_path):
    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    target = tmp_path / "bad.py"
    target.write_text(textwrap.dedent("""
        from zenprovision import pipeline, step

        @step(name="a/b")
        def s() -> int:
            return 1
        """))
    result = cli("run", str(target), "--stack", "rt")
    assert result.code == 2 and "invalid step name 'a/b'" in one_line_error(result)
