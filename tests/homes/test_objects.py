"""The document store of every kind of home: the same answers from a folder, S3 (moto) and GCS.

What locking across machines rests on is checked on each: a create-only write fails when
the document exists, a replace-if-unchanged write fails when someone changed it since.
The GCS emulator ignores generation preconditions, so on GCS only what it can show is
checked, and that our requests carry the preconditions.
"""

from __future__ import annotations

import threading

import pytest

from tests.servers import unique_bucket_name
from zenprovision.errors import HomeAccessError, WriteConflict
from zenprovision.homes.location import parse
from zenprovision.homes.objects import open_home


@pytest.fixture
def s3_home(moto_server, s3_client, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    bucket = unique_bucket_name("home")
    s3_client.create_bucket(Bucket=bucket)
    return open_home(parse(f"s3://{bucket}/team/zp"))


@pytest.fixture
def gcs_home(gcs_emulator, gcs_client, monkeypatch):
    monkeypatch.setenv("ZENPROVISION_ACCEPT_GCS_HOME", "1")
    bucket = unique_bucket_name("home")
    gcs_client.create_bucket(bucket)
    return open_home(parse(f"gs://{bucket}/team/zp"))


@pytest.fixture
def local_home(tmp_path):
    return open_home(parse(str(tmp_path / "home")))


@pytest.fixture(params=["local", "s3", "gcs"])
def objects(request):
    return request.getfixturevalue(f"{request.param}_home")


def test_get_put_delete_and_names(objects):
    assert objects.get("registry/dev.json") is None
    assert objects.names("registry", ".json") == []
    etag = objects.put("registry/dev.json", b'{"a": 1}')
    objects.put("registry/prod.json", b"{}")
    objects.put("registry/.hidden.json", b"{}")
    objects.put("registry/notes.txt", b"x")
    objects.put("registry/archive/old.json", b"{}")
    blob = objects.get("registry/dev.json")
    assert (blob.data, blob.etag) == (b'{"a": 1}', etag)
    assert objects.names("registry", ".json") == ["dev", "prod"]
    objects.delete("registry/dev.json")
    objects.delete("registry/dev.json")  # deleting what is gone is fine
    assert objects.get("registry/dev.json") is None
    assert objects.names("registry", ".json") == ["prod"]


def test_the_etag_changes_with_the_content(objects):
    first = objects.put("locks/dev.json", b"one")
    second = objects.put("locks/dev.json", b"two")
    assert first != second and objects.get("locks/dev.json").etag == second


@pytest.fixture(params=["local", "s3"])
def conditional(request):
    return request.getfixturevalue(f"{request.param}_home")


def test_create_only_fails_when_present(conditional):
    conditional.put("locks/dev.json", b"mine", if_none_match=True)
    with pytest.raises(WriteConflict) as caught:
        conditional.put("locks/dev.json", b"theirs", if_none_match=True)
    assert "locks/dev.json" in caught.value.message and caught.value.hint
    assert conditional.get("locks/dev.json").data == b"mine"


def test_replace_fails_when_changed_since_read(conditional):
    etag = conditional.put("locks/dev.json", b"v1")
    newer = conditional.put("locks/dev.json", b"v2", if_match=etag)
    with pytest.raises(WriteConflict):
        conditional.put("locks/dev.json", b"stale", if_match=etag)
    with pytest.raises(WriteConflict):
        conditional.put("locks/gone.json", b"x", if_match=etag)  # nothing there to match
    assert conditional.get("locks/dev.json") == type(conditional.get("locks/dev.json"))(b"v2", newer)


def test_of_many_racing_creates_exactly_one_wins(conditional):
    winners, barrier = [], threading.Barrier(6)

    def race(n: int) -> None:
        barrier.wait()
        try:
            conditional.put("locks/race.json", str(n).encode(), if_none_match=True)
            winners.append(n)
        except WriteConflict:
            pass

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert conditional.get("locks/race.json").data == str(winners[0]).encode()


def test_gcs_writes_carry_generation_preconditions(gcs_home, monkeypatch):
    """The emulator ignores them; what we can check here is that every conditional write asks."""
    sent = []
    original = gcs_home.fs._call

    async def recording(method, path, *args, **kwargs):
        sent.append((method, kwargs.get("ifGenerationMatch")))
        return await original(method, path, *args, **kwargs)

    monkeypatch.setattr(gcs_home.fs, "_call", recording)
    etag = gcs_home.put("locks/dev.json", b"v1", if_none_match=True)
    gcs_home.put("locks/dev.json", b"v2", if_match=etag)
    gcs_home.put("locks/dev.json", b"v3")
    assert [s for s in sent if s[0] == "POST"] == [("POST", "0"), ("POST", etag), ("POST", None)]


def test_a_gcs_home_warns_that_its_locking_is_unproven(gcs_emulator, gcs_client, monkeypatch, capsys):
    monkeypatch.delenv("ZENPROVISION_ACCEPT_GCS_HOME", raising=False)
    open_home(parse("gs://team-home/zp"))
    err = capsys.readouterr().err
    assert "warning: locking on a gs:// home" in err and "ZENPROVISION_ACCEPT_GCS_HOME=1" in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_bucket_is_one_clear_line(moto_server, gcs_emulator, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("ZENPROVISION_ACCEPT_GCS_HOME", "1")
    for url in ("s3://zp-no-such-bucket/zp", "gs://zp-no-such-bucket/zp"):
        with pytest.raises(HomeAccessError) as caught:
            open_home(parse(url)).get("registry/dev.json")
        assert "does not exist" in caught.value.message and caught.value.exit_code == 2


def test_missing_aws_credentials_are_one_clear_line(moto_server, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(HomeAccessError) as caught:
        open_home(parse("s3://team-home/zp")).get("registry/dev.json")
    assert "no AWS credentials" in caught.value.message and caught.value.exit_code == 2


def test_gcs_replacing_a_generation_that_is_gone_is_a_conflict(gcs_home, monkeypatch):
    """What GCS answers (404) when ifGenerationMatch names a deleted object; the emulator cannot show it."""
    real_call = gcs_home._call

    def gone(key, method, path, *args, **kwargs):
        if method == "POST":
            raise FileNotFoundError(path)
        return real_call(key, method, path, *args, **kwargs)

    monkeypatch.setattr(gcs_home, "_call", gone)
    with pytest.raises(WriteConflict):
        gcs_home.put("registry/dev.json", b"x", if_match="7")
    with pytest.raises(FileNotFoundError):
        gcs_home.put("registry/dev.json", b"x")
