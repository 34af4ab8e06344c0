"""The Dask orchestrator on a real local Dask cluster (provisioned by the local recipe), with
artifacts in S3 on a moto server.

One cluster serves the whole module (deploying one takes 10-20 s): the tests only run
pipelines on it, each with its own pipeline and markers, and none changes the cluster.
"""

import json
import os
from pathlib import Path

import psutil
import pytest

from tests.conftest import run_cli
from tests.runtime.conftest import PIPELINES, make_stack
from tests.servers import unique_bucket_name
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.stacks import store

SHAPES = str(PIPELINES / "shapes.py")

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def dask_home(tmp_path_factory, moto_server, s3_client):
    """A home of the module's own, holding the deployed cluster ("dk") and a stack that runs
    on it with artifacts in S3 ("dks3"); the cluster is destroyed at the end."""
    folder = tmp_path_factory.mktemp("dask")
    home, markers = folder / "home", folder / "markers"
    markers.mkdir()
    bucket = unique_bucket_name("s3")
    s3_client.create_bucket(Bucket=bucket)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZENPROVISION_HOME", str(home))
        mp.setenv("ZP_TEST_MARKERS", str(markers))  # the workers read it: set before they start
        mp.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
        result = run_cli("recipe", "local", "--stack", "dk", "-c", "orchestrator=dask", "-c", "dask_workers=2",
                         "-c", "dask_worker_env=AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_DEFAULT_REGION,ZP_TEST_MARKERS",
                         "--yes")
        assert result.code == 0, result.err
        try:
            address = store.load("dk").components.orchestrator.config["scheduler_address"]
            s3 = {"bucket": bucket, "prefix": "artifacts", "region": "us-east-1", "endpoint_url": moto_server}
            config = make_stack("dks3", {"flavor": "s3", "config": s3})
            store.save(config.model_copy(update={"components": config.components.model_copy(
                update={"orchestrator": config.components.orchestrator.model_copy(
                    update={"flavor": "dask", "config": {"scheduler_address": address}})})}))
            yield {"home": home, "markers": markers, "address": address, "s3": s3}
        finally:
            destroyed = run_cli("destroy", "dk", "--yes")
        assert destroyed.code == 0, destroyed.err
        assert not [p for p in psutil.process_iter(["cmdline"]) if str(home) in " ".join(p.info["cmdline"] or [])]


@pytest.fixture
def dask_stack(dask_home) -> str:
    return dask_home["address"]


@pytest.fixture
def markers(dask_home) -> Path:
    return dask_home["markers"]


@pytest.fixture
def s3_bucket(dask_home) -> dict:
    return dask_home["s3"]


def worker_pids(address):
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        return set(client.run(os.getpid).values())


def test_fan_out_runs_in_dask_workers_with_artifacts_in_s3(dask_stack, cli, s3_bucket):
    result = cli("run", f"{SHAPES}:fanout", "--stack", "dks3", "-p", "seconds=0.3", "--json")
    assert result.code == 0, result.err
    run_id = json.loads(result.out)["run_id"]
    from zenprovision.runtime import flavors
    from zenprovision.runtime.execution import load_artifact

    s3 = flavors.build("artifact_store", "s3", s3_bucket)
    works = [load_artifact(s3, f"runs/{run_id}/.{n}.meta.json") for n in ("work", "work_2", "work_3", "work_4")]
    assert {w["pid"] for w in works} <= worker_pids(dask_stack)
    assert len({w["pid"] for w in works}) == 2  # both workers took steps
    assert load_artifact(s3, f"runs/{run_id}/.gather.meta.json") == [0, 10, 20, 30]
    assert any(path.startswith("code/") for path in s3.list(""))
    assert all(a["uri"].startswith("s3://") for a in MetadataStore("dks3").run(run_id)["artifacts"])


def test_retries_failures_and_resume_on_dask(dask_stack, cli, markers):
    retried = cli("run", f"{SHAPES}:retrying", "--stack", "dks3", "--json")
    assert retried.code == 0, retried.err
    step = MetadataStore("dks3").run(json.loads(retried.out)["run_id"])["steps"][0]
    assert step["attempts"] == 2
    failed = cli("run", f"{SHAPES}:breaking", "--stack", "dks3")
    assert failed.code == 1 and "ValueError: the data is bad" in failed.err
    run_id = MetadataStore("dks3").runs()[0]["id"]
    (markers / "fixed").write_text("yes")
    resumed = cli("run", f"{SHAPES}:breaking", "--stack", "dks3", "--resume", run_id, "--no-cache", "--json")
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["steps"]["source"] == "cached"
    assert MetadataStore("dks3").runs()[0]["status"] == "succeeded"


def test_doctor_and_a_script_run_directly(dask_stack, cli, tmp_path):
    checks = {c["name"]: c for c in json.loads(cli("doctor", "dk", "--json").out)}
    assert checks["orchestrator"]["ok"] and "worker process" in checks["orchestrator"]["detail"]
    script = tmp_path / "direct.py"
    script.write_text(
        "import sys\nfrom zenprovision import pipeline, step\n"
        "@step\ndef one() -> int:\n    return 1\n"
        "@pipeline\ndef direct():\n    one()\n"
        "if __name__ == '__main__':\n"
        "    print('RESULT', direct.run(stack=sys.argv[1]).output('one'))\n"
    )
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(script), "dks3"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines() == ["RESULT 1"]  # the workers did not re-run the __main__ block
