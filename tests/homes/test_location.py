"""A home's address: folders stay folders, URLs are parsed, and bad buckets are refused in one line."""

from pathlib import Path

import pytest

from zenprovision.errors import InputError
from zenprovision.homes.location import parse


def test_a_folder_is_a_local_home(tmp_path):
    location = parse(str(tmp_path / "zp"))
    assert (location.scheme, location.path, location.shared) == ("file", tmp_path / "zp", False)
    assert parse(f"file://{tmp_path}").path == tmp_path


def test_a_relative_folder_is_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse("team").path == tmp_path / "team"


@pytest.mark.parametrize(("url", "scheme", "bucket", "prefix", "key"), [
    ("s3://team-home/zp", "s3", "team-home", "zp", "team-home/zp/registry/dev.json"),
    ("s3://team-home", "s3", "team-home", "", "team-home/registry/dev.json"),
    ("s3://team.home.example/a//b/", "s3", "team.home.example", "a/b", "team.home.example/a/b/registry/dev.json"),
    ("gs://team_home/zp", "gs", "team_home", "zp", "team_home/zp/registry/dev.json"),
    ("gcs://team-home/zp", "gs", "team-home", "zp", "team-home/zp/registry/dev.json"),
    ("S3://team-home/zp", "s3", "team-home", "zp", "team-home/zp/registry/dev.json"),
])
def test_bucket_urls(url, scheme, bucket, prefix, key):
    location = parse(url)
    assert (location.scheme, location.bucket, location.prefix, location.shared) == (scheme, bucket, prefix, True)
    assert location.key("registry", "dev.json") == key
    assert location.child("pulumi") == f"{scheme}://{bucket}/{prefix}/pulumi".replace("//pulumi", "/pulumi")
    assert location.path is None


@pytest.mark.parametrize(("url", "words"), [
    ("http://team-home/zp", "http:// is not a supported home"),
    ("s3a://team-home/zp", "s3a:// is not a supported home"),
    ("s3://Team-Home/zp", "not an S3 bucket name"),
    ("s3://ab/zp", "not an S3 bucket name"),
    ("s3://team_home/zp", "not an S3 bucket name"),
    ("s3://-team/zp", "not an S3 bucket name"),
    ("s3://team..home/zp", "not an S3 bucket name"),
    ("s3://192.168.1.1/zp", "not an S3 bucket name"),
    ("s3:///zp", "not an S3 bucket name"),
    ("s3://" + "a" * 64, "not an S3 bucket name"),
    ("gs://goog-team/zp", "not a GCS bucket name"),
    ("gs://my-google-team/zp", "not a GCS bucket name"),
    ("s3://team-home/../other", "not a plain folder path"),
    ("s3://team-home/zp/*", "not a plain folder path"),
])
def test_bad_urls_are_refused_in_one_line(url, words):
    with pytest.raises(InputError) as caught:
        parse(url)
    assert words in caught.value.message
    assert caught.value.exit_code == 2 and caught.value.hint
    assert "\n" not in str(caught.value)


def test_a_url_is_never_a_path():
    assert parse("s3://team-home/zp").path is None
    assert not isinstance(parse("gs://team-home/zp").path, Path)


@pytest.mark.parametrize("url", ["s3:/team-home/zp", "s3:team-home/zp", "gs:/team-home", "GCS:/team-home/zp"])
def test_a_bucket_url_missing_a_slash_is_refused_not_taken_for_a_folder(url, tmp_path, monkeypatch):
    """`home push s3:/bucket` must not copy the home into ./s3:/bucket and report success."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as caught:
        parse(url, source="URL")
    assert "neither a folder nor a URL" in caught.value.message and "://bucket/prefix" in caught.value.hint
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)
    assert parse(f"./{url}").path == tmp_path / url  # a folder of that name, said so
    assert list(tmp_path.iterdir()) == []


def test_home_push_to_a_mistyped_bucket_url_copies_nothing(home, cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("home", "push", "s3:/team-home/zp")
    assert result.code == 2 and "neither a folder nor a URL" in result.err, result.err
    assert not (tmp_path / "s3:").exists()


@pytest.mark.parametrize("url", ["", "  "])
def test_home_push_to_an_empty_url_copies_nothing_into_the_current_folder(home, cli, tmp_path, monkeypatch, url):
    """`provision home push "$TEAM_HOME"` with the variable unset copied the home into the current folder."""
    from tests.runtime.conftest import make_stack

    make_stack("dev", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = cli("home", "push", url)
    assert result.code == 2 and "URL is empty" in result.err, result.err
    assert list(work.iterdir()) == []


def test_a_home_variable_missing_a_slash_is_refused_not_made_a_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("stacks", env={"ZENPROVISION_HOME": "s3:/team-home/zp"})
    assert result.code == 2 and "neither a folder nor a URL" in result.err, result.err
    assert list(tmp_path.iterdir()) == []
    assert cli("stacks", env={"ZENPROVISION_HOME": "./s3:x"}).code == 0  # a folder of that name, said so
