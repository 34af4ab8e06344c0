"""The same pipeline file on S3 (moto server) and GCS (emulator) artifact stores."""

import json

import pytest

from tests.runtime.conftest import PIPELINES, make_stack
from zenprovision.runtime import flavors
from zenprovision.runtime.metadata import MetadataStore

SHAPES = str(PIPELINES / "shapes.py")


@pytest.fixture(params=["s3", "gcs"])
def cloud_stack(request, home):
    bucket = request.getfixturevalue(f"{request.param}_bucket")
    make_stack("cloud", {"flavor": request.param, "config": bucket})
    return request.param, bucket


def test_pipeline_persists_every_output_in_the_bucket(cloud_stack, cli, tmp_path, monkeypatch):
    flavor, bucket = cloud_stack
    monkeypatch.setenv("ZP_TEST_MARKERS", str(tmp_path))
    result = cli("run", f"{SHAPES}:fanout", "--stack", "cloud", "-p", "seconds=0", "--json")
    assert result.code == 0, result.err
    run_id = json.loads(result.out)["run_id"]
    run = MetadataStore("cloud").run(run_id)
    scheme = {"s3": "s3://", "gcs": "gs://"}[flavor]
    assert all(a["uri"].startswith(f"{scheme}{bucket['bucket']}/artifacts/runs/{run_id}/") for a in run["artifacts"])
    store = flavors.build("artifact_store", flavor, bucket)
    files = store.list(f"runs/{run_id}")
    assert {f"runs/{run_id}/gather.json", f"runs/{run_id}/.gather.meta.json"} <= set(files)
    assert len([f for f in files if f.endswith(".meta.json")]) == 6
    assert all(f.count("/") == 2 for f in files), files  # in the run's folder: no folder per step

    cached = json.loads(cli("run", f"{SHAPES}:fanout", "--stack", "cloud", "-p", "seconds=0", "--json").out)
    assert set(cached["steps"].values()) == {"cached"}
