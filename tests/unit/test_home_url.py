"""A URL in $ZENPROVISION_HOME is a shared home, never taken for a relative path."""

from pathlib import Path

import pytest

from tests.conftest import run_cli
from zenprovision import home
from zenprovision.errors import InputError


def test_a_url_home_never_becomes_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(home.HOME_ENV, "s3://team-home/zp")
    monkeypatch.setenv(home.LOCAL_HOME_ENV, str(tmp_path / "local"))
    assert home.home() == tmp_path / "local"
    assert home.shared().url == "s3://team-home/zp" and home.shared().path is None
    assert home.shared().child("pulumi") == "s3://team-home/zp/pulumi"


def test_a_bad_url_home_is_one_line_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"ZENPROVISION_HOME": "s3://Team_Home/zp", "ZENPROVISION_LOCAL_HOME": str(tmp_path / "local")}
    for args in (["stacks"], ["recipe", "local", "--stack", "dev", "--yes"]):
        result = run_cli(*args, env=env)
        assert result.code == 2, result.err
        assert len(result.err.strip().splitlines()) == 1 and "not an S3 bucket name" in result.err
    assert list(tmp_path.iterdir()) == []


def test_the_local_home_is_never_a_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(home.HOME_ENV, "s3://team-home/zp")
    monkeypatch.setenv(home.LOCAL_HOME_ENV, "s3://other/zp")
    with pytest.raises(InputError, match="is a URL"):
        home.home()
    assert not Path("s3:").exists()


def test_the_home_setting_names_the_shared_home(tmp_path, monkeypatch):
    monkeypatch.delenv(home.HOME_ENV, raising=False)
    monkeypatch.setenv(home.LOCAL_HOME_ENV, str(tmp_path))
    assert home.shared().path == tmp_path
    (tmp_path / "settings.yaml").write_text("default_ttl:\n  dev: 3d\nhome: 's3://team-home/zp'  # the team\n")
    assert home.shared().url == "s3://team-home/zp" and home.home() == tmp_path
    monkeypatch.setenv(home.HOME_ENV, "gs://env-wins/zp")
    assert home.shared().url == "gs://env-wins/zp"


def test_objects_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "a"))
    first = home.objects()
    assert home.objects() is first and first.location.path == tmp_path / "a"
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "b"))
    assert home.objects().location.path == tmp_path / "b"


def test_a_bad_home_flag_is_named_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("--home", "gs://goog-home/zp", "stacks", env={"ZENPROVISION_LOCAL_HOME": str(tmp_path / "l")})
    assert result.code == 2 and result.err.startswith("Error: --home=gs://goog-home/zp: ")
    assert list(tmp_path.iterdir()) == []
