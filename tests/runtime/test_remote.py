"""Code packages and the remote entrypoint, run for real as a subprocess against moto S3."""

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from tests.runtime.conftest import PIPELINES
from zenprovision.errors import InputError
from zenprovision.runtime import code_package, flavors
from zenprovision.runtime.execution import StepTask, load_artifact, save_artifact
from zenprovision.runtime.loader import load_pipeline
from zenprovision.runtime.remote import read_result, write_task


def test_package_is_deterministic_and_honours_gitignore(tmp_path):
    (tmp_path / "pipe.py").write_text("x = 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.csv").write_text("1,2\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "pipe.pyc").write_bytes(b"\0")
    (tmp_path / ".gitignore").write_text("data/\n")
    first = code_package.build(tmp_path)
    assert first == code_package.build(tmp_path)
    names = tarfile.open(fileobj=io.BytesIO(first), mode="r:gz").getnames()
    assert names == [".gitignore", "pipe.py"]
    (tmp_path / "pipe.py").write_text("x = 2\n")
    assert code_package.build(tmp_path) != first


def test_package_size_limit_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(code_package, "MAX_BYTES", 1000)
    (tmp_path / "blob.bin").write_bytes(os.urandom(2000))
    with pytest.raises(InputError, match="larger than"):
        code_package.build(tmp_path)


@pytest.fixture
def s3_store(s3_bucket):
    return {"flavor": "s3", "config": s3_bucket}


def test_entrypoint_runs_a_step_from_the_package_in_a_fresh_process(s3_store, tmp_path):
    store = flavors.build("artifact_store", "s3", s3_store["config"])
    pipeline = load_pipeline(f"{PIPELINES / 'shapes.py'}:fanout")
    dag = pipeline.build(seconds=0)
    source = save_artifact(store, "runs/r1/source", [1, 2, 3], "source")["relpath"]
    stack = {"components": {"artifact_store": s3_store}}
    code = code_package.upload(store, PIPELINES)
    assert code.startswith("code/") and code_package.upload(store, PIPELINES) == code
    node = dag.nodes["work_2"]
    task = StepTask("r1", "work_2", node.step, node.params, {"items": source}, "runs/r1/work_2", stack)
    write_task(store, task, code, PIPELINES)
    run = subprocess.run([sys.executable, "-m", "zenprovision.runtime.entrypoint", "--run", "r1", "--step", "work_2"],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "ZENPROVISION_ARTIFACT_STORE": json.dumps(s3_store)})
    assert run.returncode == 0, run.stderr
    output = load_artifact(store, "runs/r1/.work_2.meta.json")
    assert output["value"] == 20 and output["pid"] != os.getpid()
    assert read_result(store, "r1", "work_2").ok

    fragile = load_pipeline(f"{PIPELINES / 'shapes.py'}:breaking").build().nodes["fragile"]
    failing = StepTask("r1", "fragile", fragile.step, {}, {"items": source}, "runs/r1/fragile", stack)
    write_task(store, failing, code, PIPELINES)
    run = subprocess.run([sys.executable, "-m", "zenprovision.runtime.entrypoint", "--run", "r1", "--step", "fragile"],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "ZENPROVISION_ARTIFACT_STORE": json.dumps(s3_store),
                              "ZP_TEST_MARKERS": str(tmp_path)})
    assert run.returncode == 1 and "ValueError: the data is bad" in run.stderr
    result = read_result(store, "r1", "fragile")
    assert not result.ok and "Traceback" in result.traceback
    assert not store.exists("runs/r1/.fragile.meta.json")
    # the same layout as a local run: every file in the run's folder, none in a folder per step
    assert all(path.count("/") == 2 for path in store.list("runs/r1")), store.list("runs/r1")
    assert {"runs/r1/work_2.json", "runs/r1/.work_2.meta.json", "runs/r1/.work_2.result.json"} <= set(store.list("runs/r1"))


def test_entrypoint_without_a_store_is_a_usage_error():
    run = subprocess.run([sys.executable, "-m", "zenprovision.runtime.entrypoint", "--run", "r", "--step", "s"],
                         capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                               if k != "ZENPROVISION_ARTIFACT_STORE"})
    assert run.returncode == 2 and "no artifact store" in run.stderr
