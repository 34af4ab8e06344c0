"""`provision run --in-process`: the steps run in the run's own process, with the same records,
outputs, failures, resume and Ctrl-C as on worker processes (issue 15)."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from tests.runtime.conftest import PIPELINES
from zenprovision.runtime.execution import artifact_store_for, load_artifact
from zenprovision.runtime.metadata import MetadataStore, db_path
from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig

SHAPES = str(PIPELINES / "shapes.py")


@pytest.fixture
def markers(tmp_path, monkeypatch):
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("ZP_TEST_MARKERS", str(folder))
    return folder


def statuses(stack: str, run_id: str) -> dict[str, str]:
    return {s["node_id"]: s["status"] for s in MetadataStore(stack).run(run_id)["steps"]}


def test_every_step_runs_in_the_runs_own_process_and_is_recorded_as_on_workers(local_stack, markers):
    from tests.runtime.pipelines.shapes import fanout

    summary = fanout.run(stack=local_stack, cache=False, in_process=True, seconds=0)
    assert summary.status == "succeeded" and summary.output("gather") == [0, 10, 20, 30]
    works = [summary.output(n) for n in ("work", "work_2", "work_3", "work_4")]
    assert {w["pid"] for w in works} == {os.getpid()}
    assert all(a["end"] <= b["start"] or b["end"] <= a["start"] for a in works for b in works if a is not b)
    run = MetadataStore(local_stack).run(summary.run_id)
    assert set(statuses(local_stack, summary.run_id).values()) == {"succeeded"} and len(run["artifacts"]) == 6
    assert ("gather", "a") in {(x["node_id"], x["input"]) for x in run["lineage"]}
    artifact_store = artifact_store_for(store.load(local_stack).to_document())
    for artifact in run["artifacts"]:  # each output committed as a worker commits it: data, then its meta file
        meta = json.loads(artifact_store.read_bytes(artifact["relpath"]))
        assert meta["hash"] == artifact["hash"]
        assert load_artifact(artifact_store, artifact["relpath"]) is not None
    again = fanout.run(stack=local_stack, in_process=True, seconds=0)
    assert set(again.steps.values()) == {"cached"}
    on_workers = fanout.run(stack=local_stack, cache=False, seconds=0)
    assert os.getpid() not in {on_workers.output(n)["pid"] for n in ("work", "work_2")}


def test_a_failure_skips_what_follows_and_resume_reuses_what_succeeded(local_stack, cli, markers):
    failed = cli("run", f"{SHAPES}:breaking", "--stack", local_stack, "--in-process")
    assert failed.code == 1
    assert "ValueError: the data is bad" in failed.err and "failed at step 'fragile'" in failed.err
    run_id = MetadataStore(local_stack).runs()[0]["id"]
    assert statuses(local_stack, run_id) == {"source": "succeeded", "fragile": "failed", "after": "skipped",
                                             "independent": "succeeded"}
    (markers / "fixed").write_text("yes")
    resumed = cli("run", f"{SHAPES}:breaking", "--stack", local_stack, "--resume", run_id, "--in-process",
                  "--no-cache", "--json")
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["steps"] == {"source": "cached", "fragile": "succeeded", "after": "succeeded",
                                                "independent": "cached"}


def test_a_step_is_retried_in_process_as_on_workers(local_stack, cli, markers):
    result = cli("run", f"{SHAPES}:retrying", "--stack", local_stack, "--in-process", "--json")
    assert result.code == 0, result.err
    step = MetadataStore(local_stack).run(json.loads(result.out)["run_id"])["steps"][0]
    assert step["status"] == "succeeded" and step["attempts"] == 2
    assert "retrying after ConnectionError" in result.err


def test_a_step_that_calls_sys_exit_fails_itself_not_the_run(local_stack, cli, tmp_path):
    pipeline_file = tmp_path / "exits.py"
    pipeline_file.write_text(
        "import sys\nfrom zenprovision import pipeline, step\n"
        "@step\ndef first() -> int:\n    return 1\n"
        "@step\ndef leaves(x: int) -> int:\n    sys.exit(3)\n"
        "@pipeline\ndef p():\n    leaves(first())\n"
    )
    result = cli("run", str(pipeline_file), "--stack", local_stack, "--in-process")
    assert result.code == 1 and "failed at step 'leaves': SystemExit: 3" in result.err
    run = MetadataStore(local_stack).runs()[0]
    assert run["status"] == "failed" and statuses(local_stack, run["id"]) == {"first": "succeeded", "leaves": "failed"}


def test_ctrl_c_stops_the_step_and_aborts_the_run_leaving_it_resumable(local_stack, home, markers):
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", f"{SHAPES}:sleepy", "--stack", local_stack,
                             "--in-process"], stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (markers / "slow-started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert int((markers / "slow-started").read_text()) == proc.pid  # the step runs in the command's own process
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(30) == 130
    err = proc.stderr.read()
    assert "aborted" in err and "--resume" in err and "Traceback" not in err
    run = MetadataStore(local_stack).runs()[0]
    assert run["status"] == "aborted"
    details = MetadataStore(local_stack).run(run["id"])
    assert details["steps"][0]["status"] == "aborted" and details["artifacts"] == []
    assert not list((home / "artifacts").rglob("*meta.json"))


def test_refused_where_the_orchestrator_runs_steps_elsewhere_before_anything_is_recorded(home, cli, markers):
    store.save(StackConfig(
        name="far", recipe="hand-made", engine="embedded", created_at=datetime.now(timezone.utc),
        components={
            "artifact_store": {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}},
            "orchestrator": {"flavor": "dask", "config": {"scheduler_address": "tcp://127.0.0.1:9"}},
            "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:9"}},
        },
    ))
    result = cli("run", f"{SHAPES}:fanout", "--stack", "far", "--in-process")
    assert result.code == 2, result.err
    assert "--in-process" in result.err and "dask" in result.err and "local" in result.err
    assert not db_path("far").exists() or MetadataStore("far").runs() == []


def test_a_breakpoint_in_a_step_stops_in_the_terminal_of_the_run(local_stack, home, tmp_path):
    pipeline_file = tmp_path / "debugged.py"
    pipeline_file.write_text(
        "from zenprovision import pipeline, step\n"
        "@step\ndef inspected() -> int:\n    x = 41\n    breakpoint()\n    return x + 1\n"
        "@pipeline\ndef p():\n    inspected()\n"
    )
    env = {**os.environ, "PYTHONBREAKPOINT": "pdb.set_trace"}
    debugged = subprocess.run([sys.executable, "-m", "zenprovision", "run", str(pipeline_file), "--stack", local_stack,
                               "--in-process"], input="p x * 1000\nc\n", capture_output=True, text=True, env=env,
                              timeout=120)
    assert debugged.returncode == 0, debugged.stderr
    assert "41000" in debugged.stdout + debugged.stderr  # pdb read the command from the run's own stdin
