"""The local orchestrator through `provision run`: parallelism, retries, failures, resume, cache, Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.runtime.conftest import PIPELINES, make_stack
from zenprovision.runtime.metadata import MetadataStore

SHAPES = str(PIPELINES / "shapes.py")


@pytest.fixture
def markers(tmp_path, monkeypatch):
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("ZP_TEST_MARKERS", str(folder))
    return folder


def run_json(cli, *args):
    result = cli("run", *args, "--json")
    return result, (json.loads(result.out) if result.code == 0 else None)


def test_fan_out_runs_in_parallel_worker_processes(local_stack, cli, home, markers):
    result, summary = run_json(cli, f"{SHAPES}:fanout", "--stack", local_stack, "-p", "seconds=0.5", "--no-cache")
    assert result.code == 0, result.err
    run = MetadataStore(local_stack).run(summary["run_id"])
    artifacts = {a["node_id"]: a for a in run["artifacts"]}
    from zenprovision.runtime.execution import artifact_store_for, load_artifact
    from zenprovision.stacks import store

    artifact_store = artifact_store_for(store.load(local_stack).to_document())
    works = [load_artifact(artifact_store, artifacts[n]["relpath"]) for n in ("work", "work_2", "work_3", "work_4")]
    assert load_artifact(artifact_store, artifacts["gather"]["relpath"]) == [0, 10, 20, 30]
    assert all(w["pid"] != os.getpid() for w in works)
    overlapping = any(a["start"] < b["end"] and b["start"] < a["end"] for a in works for b in works if a is not b)
    assert overlapping, "two workers should run independent steps at the same time"
    lineage = {(x["node_id"], x["input"]) for x in run["lineage"]}
    assert ("gather", "a") in lineage and ("work", "items") in lineage


def test_retries_then_succeeds(local_stack, cli, markers):
    result, summary = run_json(cli, f"{SHAPES}:retrying", "--stack", local_stack)
    assert result.code == 0, result.err
    step = MetadataStore(local_stack).run(summary["run_id"])["steps"][0]
    assert step["status"] == "succeeded" and step["attempts"] == 2
    assert "retrying after ConnectionError" in result.err


def test_failure_skips_downstream_then_resume_reuses_what_succeeded(local_stack, cli, markers):
    failed = cli("run", f"{SHAPES}:breaking", "--stack", local_stack)
    assert failed.code == 1
    assert "ValueError: the data is bad" in failed.err and "Traceback" in failed.err
    assert "failed at step 'fragile'" in failed.err
    meta = MetadataStore(local_stack)
    run_id = meta.runs()[0]["id"]
    steps = {s["node_id"]: s["status"] for s in meta.run(run_id)["steps"]}
    assert steps == {"source": "succeeded", "fragile": "failed", "after": "skipped", "independent": "succeeded"}
    assert meta.run(run_id)["status"] == "failed"

    (markers / "fixed").write_text("yes")
    resumed, summary = run_json(cli, f"{SHAPES}:breaking", "--stack", local_stack, "--resume", run_id, "--no-cache")
    assert resumed.code == 0, resumed.err
    steps = {s["node_id"]: s for s in MetadataStore(local_stack).run(summary["run_id"])["steps"]}
    assert steps["source"]["status"] == "cached" and steps["source"]["cached_from"] == run_id
    assert steps["independent"]["status"] == "cached"
    assert steps["fragile"]["status"] == "succeeded" and steps["after"]["status"] == "succeeded"


def test_cache_reuses_unchanged_steps_and_no_cache_reruns(local_stack, cli, markers, tmp_path):
    pipeline_file = tmp_path / "cached.py"
    pipeline_file.write_text(
        "from zenprovision import pipeline, step\n"
        "@step\ndef first() -> int:\n    return 1\n"
        "@step\ndef second(x: int, k: int = 1) -> int:\n    return x + k\n"
        "@pipeline\ndef chain(k: int = 1):\n    second(first(), k=k)\n"
    )
    statuses = lambda summary: summary["steps"]  # noqa: E731
    _, one = run_json(cli, str(pipeline_file), "--stack", local_stack)
    assert statuses(one) == {"first": "succeeded", "second": "succeeded"}
    _, two = run_json(cli, str(pipeline_file), "--stack", local_stack)
    assert statuses(two) == {"first": "cached", "second": "cached"}
    _, three = run_json(cli, str(pipeline_file), "--stack", local_stack, "-p", "k=2")
    assert statuses(three) == {"first": "cached", "second": "succeeded"}
    pipeline_file.write_text(pipeline_file.read_text().replace("return 1", "return 5"))
    _, four = run_json(cli, str(pipeline_file), "--stack", local_stack, "-p", "k=2")
    assert statuses(four) == {"first": "succeeded", "second": "succeeded"}  # new code, new input hash
    _, five = run_json(cli, str(pipeline_file), "--stack", local_stack, "-p", "k=2", "--no-cache")
    assert statuses(five) == {"first": "succeeded", "second": "succeeded"}


def test_unstorable_output_fails_the_run_naming_step_and_output(local_stack, cli, markers):
    result = cli("run", f"{SHAPES}:generator", "--stack", local_stack)
    assert result.code == 1
    assert "step 'unstorable' output: cannot store a generator" in result.err


def test_ctrl_c_aborts_the_run_and_leaves_no_worker(local_stack, home, markers):
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", f"{SHAPES}:sleepy", "--stack", local_stack],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (markers / "slow-started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = int((markers / "slow-started").read_text())
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(30) == 130
    assert "aborted" in proc.stderr.read()
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
    run = MetadataStore(local_stack).runs()[0]
    assert run["status"] == "aborted"
    details = MetadataStore(local_stack).run(run["id"])
    assert details["steps"][0]["status"] == "aborted" and details["artifacts"] == []
    assert not list((home / "artifacts").rglob("*meta.json"))


def test_runs_listing_and_show(local_stack, cli, markers):
    _, summary = run_json(cli, f"{SHAPES}:fanout", "--stack", local_stack, "-p", "seconds=0")
    listed = json.loads(cli("runs", "--json").out)
    assert listed[0]["id"] == summary["run_id"] and listed[0]["status"] == "succeeded"
    assert summary["run_id"] in cli("runs", "--stack", local_stack).out
    shown = json.loads(cli("runs", "show", summary["run_id"], "--json").out)
    assert {s["node_id"] for s in shown["steps"]} == {"source", "work", "work_2", "work_3", "work_4", "gather"}
    assert all(a["uri"].startswith("file://") and len(a["hash"]) == 64 for a in shown["artifacts"])
    assert cli("runs", "show", "nope").code == 2


@pytest.mark.parametrize("args, message", [
    (["run", "missing.py", "--stack", "rt"], "does not exist"),
    (["run", f"{SHAPES}:nosuch", "--stack", "rt"], "defines no pipeline 'nosuch'"),
    (["run", SHAPES, "--stack", "rt"], "several pipelines"),
    (["run", __file__.replace("test_local_runs", "conftest"), "--stack", "rt"], "defines no @pipeline"),
    (["run", f"{SHAPES}:fanout", "--stack", "ghost"], "no stack named 'ghost'"),
    (["run", f"{SHAPES}:fanout", "--stack", "rt", "-p", "seconds=soon"], "must be float"),
])
def test_bad_input_exits_2(local_stack, cli, args, message):
    result = cli(*args)
    assert result.code == 2, result.err
    assert message in result.err


def test_unreachable_artifact_store_names_the_endpoint(home, cli):
    make_stack("far", {"flavor": "s3", "config": {"bucket": "b", "endpoint_url": "http://127.0.0.1:9"}})
    started = time.monotonic()
    result = cli("run", f"{SHAPES}:fanout", "--stack", "far", env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert result.code == 2
    assert "http://127.0.0.1:9" in result.err and "unreachable" in result.err
    assert time.monotonic() - started < 30


def test_run_from_python_returns_a_summary_with_outputs(local_stack, markers):
    from tests.runtime.pipelines.shapes import fanout

    summary = fanout.run(stack=local_stack, seconds=0)
    assert summary.status == "succeeded"
    assert summary.output("gather") == [0, 10, 20, 30]
    again = fanout.run(stack=local_stack, seconds=0)
    assert set(again.steps.values()) == {"cached"}
    fresh = fanout.run(stack=local_stack, cache=False, seconds=0)
    assert set(fresh.steps.values()) == {"succeeded"}


def test_a_step_whose_process_dies_is_retried_in_a_fresh_pool(local_stack, cli, markers):
    result, summary = run_json(cli, f"{SHAPES}:crashing", "--stack", local_stack, "--no-cache")
    assert result.code == 0, result.err
    steps = {s["node_id"]: s for s in MetadataStore(local_stack).run(summary["run_id"])["steps"]}
    assert steps["dies"]["status"] == "succeeded" and steps["dies"]["attempts"] == 2
    assert steps["independent"]["status"] == "succeeded"


def test_resume_reruns_steps_whose_parameters_changed(local_stack, cli, markers, tmp_path):
    pipeline_file = tmp_path / "params.py"
    pipeline_file.write_text(
        "from zenprovision import pipeline, step\n"
        "@step\ndef make(n: int) -> int:\n    return n * 10\n"
        "@step\ndef check(x: int) -> int:\n    import os\n"
        "    if not os.path.exists(os.environ['ZP_TEST_MARKERS'] + '/ok'):\n        raise ValueError('not yet')\n"
        "    return x\n"
        "@pipeline\ndef p(n: int = 1):\n    check(make(n=n))\n"
    )
    failed = cli("run", str(pipeline_file), "--stack", local_stack, "-p", "n=5")
    assert failed.code == 1
    run_id = MetadataStore(local_stack).runs()[0]["id"]
    (markers / "ok").write_text("")
    _, resumed = run_json(cli, str(pipeline_file), "--stack", local_stack, "--resume", run_id, "--no-cache")
    assert resumed["steps"] == {"make": "succeeded", "check": "succeeded"}  # n=1 now: make must run again
    from zenprovision.runtime.execution import artifact_store_for, load_artifact
    from zenprovision.stacks import store

    artifacts = {a["node_id"]: a for a in MetadataStore(local_stack).run(resumed["run_id"])["artifacts"]}
    assert load_artifact(artifact_store_for(store.load(local_stack).to_document()), artifacts["check"]["relpath"]) == 10


def test_a_failed_step_never_stores_or_shows_a_secret(local_stack, cli, markers):
    """A step's error may quote a Secret parameter or a credential: masked in output and metadata."""
    result, _ = run_json(cli, f"{SHAPES}:leaky", "--stack", local_stack, "-p", "token=tok-9f8e7d6c5b")
    assert result.code == 1
    assert "PermissionError" in result.err and "[secret]" in result.err
    run = MetadataStore(local_stack).runs()[0]
    stored = json.dumps(MetadataStore(local_stack).run(run["id"]), default=str)
    for leaked in ("tok-9f8e7d6c5b", "sk-live-123456"):
        assert leaked not in result.out + result.err and leaked not in stored
