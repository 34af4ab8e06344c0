"""A shared home that cannot be used is one line and exit 2, and nothing is created; a GCS home
works, behind its warning."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURE_RECIPES
from tests.servers import unique_bucket_name


@pytest.fixture
def files_recipe(monkeypatch):
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(FIXTURE_RECIPES))


@pytest.mark.parametrize("problem, env, expected", [
    ("missing bucket", {}, "does not exist"),
    ("no credentials", {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "/none",
                        "AWS_CONFIG_FILE": "/none"}, "no AWS credentials"),
])
def test_an_unusable_bucket_home_is_one_line_and_creates_nothing(moto_server, files_recipe, cli, tmp_path,
                                                                 monkeypatch, problem, env, expected):
    monkeypatch.chdir(tmp_path)
    home = {"AWS_ENDPOINT_URL": moto_server, "ZENPROVISION_HOME": f"s3://{unique_bucket_name('none')}/zp",
            "ZENPROVISION_LOCAL_HOME": str(tmp_path / "laptop"), **env}
    for args in (["stacks"], ["recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 'files'}", "--yes"]):
        result = cli(*args, env=home)
        assert result.code == 2, result.err
        assert len(result.err.strip().splitlines()) == 1 and expected in result.err, result.err
    made = {p.relative_to(tmp_path).parts[:2] for p in tmp_path.rglob("*") if p.is_file()}
    assert made <= {("laptop", "locks")}  # at most the lock this machine took; no stack, record or state


def test_a_gcs_home_deploys_and_lists_with_its_warning(gcs_emulator, gcs_client, files_recipe, cli, tmp_path,
                                                       monkeypatch):
    bucket = unique_bucket_name("gcshome")
    gcs_client.create_bucket(bucket)
    monkeypatch.delenv("ZENPROVISION_ACCEPT_GCS_HOME", raising=False)
    env = {"ZENPROVISION_HOME": f"gs://{bucket}/zp", "ZENPROVISION_LOCAL_HOME": str(tmp_path / "laptop")}
    deployed = cli("recipe", "files", "--stack", "g1", "-c", f"dir={tmp_path / 'files'}", "--yes", env=env)
    assert deployed.code == 0, deployed.err
    assert "warning: locking on a gs:// home" in deployed.err
    assert sorted(b.name for b in gcs_client.bucket(bucket).list_blobs(prefix="zp/")) == [
        "zp/registry/g1.json", "zp/stacks/g1.yaml", "zp/state/g1.json"]
    listed = cli("stacks", "--json", env={**env, "ZENPROVISION_LOCAL_HOME": str(tmp_path / "other")})
    assert [row["name"] for row in json.loads(listed.out)] == ["g1"]
    assert listed.err.count("warning: locking on a gs:// home") == 1
    quiet = cli("stacks", env={**env, "ZENPROVISION_ACCEPT_GCS_HOME": "1"})
    assert "warning" not in quiet.err and "g1" in quiet.out
