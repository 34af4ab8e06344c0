"""Bucket homes whose endpoint cannot be reached, as mutation testing showed they need pinning down:
a refused connection is tried twice, half a second apart, then one line naming the home, the
endpoint and what to check; a connection that never opens (a firewall dropping it) fails as fast,
after the connect timeout; the other failures GCS reports are told apart (no permission, no
credentials, anything else in one line). On S3, a listing longer than one page is read whole.

Mutants left alive are equivalent:
- ``time.sleep(0.5 / attempt)`` for ``0.5 * attempt``: with two attempts the one pause is after the first;
  ``range(1, CONNECT_ATTEMPTS + 2)``: the last attempt raises before the loop would go on, and the
  ``AssertionError`` after the loop is never reached.
- ``getattr(aiohttp, "ConnectionTimeoutError", ...)``'s default (aiohttp >= 3.10 has the class) and
  ``ClientTimeout`` without ``total=None`` (its default).
- ``extras.require``'s arguments and ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT``: gcsfs is installed here and
  the tests set that variable themselves; the default of ``ZENPROVISION_ACCEPT_GCS_HOME`` ("" or "XXXX"
  both warn).
- the ``Content-Type`` of an upload, the ``generation`` a read is pinned to and the method's case:
  the GCS emulator ignores all three, and aiohttp sends the method upper-cased; ``json_out`` of the
  bucket lookup in ``_check_bucket`` (its answer is not read).

Left alive, not equivalent: GCS's ``pageToken`` paging in ``names`` (the emulator answers one page,
so a second is never asked for) and S3's ``_call`` key passed on to name a document in messages.
- ``[:201]`` for ``[:200]`` and ``type(None).__name__`` in ``_Unreachable``'s text: aiohttp's one-line
  connection errors are shorter, and never empty.
- ``logging.NullHandler`` added to another logger, or not at all, and ``skip_instance_cache``: what
  they change (a traceback of gcsfs's retries printed by Python's last-resort handler, a cached
  filesystem) does not happen once a connection failure is ``_Unreachable``, which gcsfs does not log.
- hint texts in capitals or wrapped in ``XX`` (present, not worded, in what is asserted), and the
  ``key`` passed on only to name the document in messages of failures these servers never give.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.servers import unique_bucket_name
from zenprovision.errors import HomeAccessError, OperationFailed
from zenprovision.homes import gcs
from zenprovision.homes.location import parse
from zenprovision.homes.objects import open_home


@pytest.fixture
def refused(closed_port) -> str:
    return closed_port


@pytest.fixture
def dropped() -> Iterator[str]:
    """An endpoint whose accept queue is full: a new connection is never answered, as behind a
    firewall that drops it (Linux drops the SYN of a listening socket with a full backlog)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    queued = []
    for _ in range(4):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        queued.append(client)
    time.sleep(0.2)  # the handshakes that fit are done
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for client in queued:
            client.close()
        server.close()


def gcs_home(monkeypatch, endpoint: str):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
    monkeypatch.setenv("ZENPROVISION_ACCEPT_GCS_HOME", "1")
    monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    return open_home(parse("gs://team-bucket/zp"))


def test_a_refused_gcs_connection_is_tried_twice_then_one_line(monkeypatch, refused):
    pauses: list[float] = []
    monkeypatch.setattr(gcs.time, "sleep", pauses.append)
    home = gcs_home(monkeypatch, refused)
    with pytest.raises(HomeAccessError) as caught:
        home.get("registry/dev.json")
    assert pauses == [0.5]
    message = caught.value.message
    assert message.startswith(f"the home gs://team-bucket/zp cannot be reached: no connection to {refused} (")
    assert f"Cannot connect to host {refused.removeprefix('http://')}" in message and "\n" not in message
    assert "STORAGE_EMULATOR_HOST" in caught.value.hint and "retry" in caught.value.hint


@pytest.mark.parametrize("call", ["put", "names", "delete"])
def test_every_gcs_call_fails_the_same_way(monkeypatch, refused, call):
    monkeypatch.setattr(gcs.time, "sleep", lambda _: None)
    home = gcs_home(monkeypatch, refused)
    args = {"put": ("registry/dev.json", b"{}"), "names": ("registry", ".json"), "delete": ("registry/dev.json",)}
    with pytest.raises(HomeAccessError, match="^the home gs://team-bucket/zp cannot be reached: no connection"):
        getattr(home, call)(*args[call])


def test_a_gcs_connection_never_answered_fails_after_the_connect_timeout(monkeypatch, dropped):
    monkeypatch.setattr(gcs, "CONNECT_TIMEOUT", 0.5)
    home = gcs_home(monkeypatch, dropped)
    started = time.monotonic()
    with pytest.raises(HomeAccessError) as caught:
        home.get("registry/dev.json")
    assert time.monotonic() - started < 20  # 2 x 0.5 s and a pause; gcsfs's own retries take a minute
    assert f"no connection to {dropped} (Connection timeout to host {dropped}" in caught.value.message


@pytest.mark.parametrize(("value", "warned"), [("1", False), ("true", False), (" Yes ", False), ("TRUE", False),
                                             ("0", True), ("no", True), ("", True)])
def test_the_gcs_warning_is_silenced_only_by_a_yes(monkeypatch, refused, capsys, value, warned):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", refused)
    monkeypatch.setenv(gcs.ACCEPT_ENV, value)
    open_home(parse("gs://team-bucket/zp"))
    assert ("warning: locking on a gs:// home" in capsys.readouterr().err) is warned


@pytest.fixture
def objects(monkeypatch, refused):
    return gcs_home(monkeypatch, refused)


@pytest.mark.parametrize("text", ["Forbidden: team-bucket", "401 Unauthorized", "HTTP 403: denied"])
def test_gcs_refusing_access_is_no_permission_on_the_document(objects, text):
    error = objects._translate(OSError(text), "registry/dev.json")
    assert isinstance(error, HomeAccessError)
    assert error.message == "no permission to use gs://team-bucket/zp/registry/dev.json"
    assert "GOOGLE_APPLICATION_CREDENTIALS" in error.hint


def test_gcs_without_credentials_says_so(objects):
    class DefaultCredentialsError(Exception):
        pass

    for exc in (DefaultCredentialsError("File /home/ana/key.json was not found."), ValueError("bad Credentials")):
        error = objects._translate(exc, "registry/dev.json")
        assert isinstance(error, HomeAccessError)
        assert error.message == "no Google credentials to use the home gs://team-bucket/zp"
        assert "gcloud auth application-default login" in error.hint


def test_any_other_gcs_failure_is_its_first_line(objects):
    error = objects._translate(RuntimeError("503 Service Unavailable\n<html>...</html>"), "registry/dev.json")
    assert type(error) is OperationFailed
    assert error.message == "the home gs://team-bucket/zp cannot be reached: 503 Service Unavailable"
    assert "STORAGE_EMULATOR_HOST" in error.hint
    long = objects._translate(RuntimeError("x" * 300), "k")
    assert long.message == "the home gs://team-bucket/zp cannot be reached: " + "x" * 200
    assert objects._translate(RuntimeError(""), "k").message == "the home gs://team-bucket/zp cannot be reached: "


def test_an_s3_listing_longer_than_a_page_is_read_whole(moto_server, s3_client, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    bucket = unique_bucket_name("pages")
    s3_client.create_bucket(Bucket=bucket)
    names = [f"s{n:04d}" for n in range(1003)]  # a page holds 1000
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda name: s3_client.put_object(Bucket=bucket, Key=f"team/zp/registry/{name}.json",
                                                        Body=b"{}"), names))
    s3_client.put_object(Bucket=bucket, Key="team/zp/registry/.hidden.json", Body=b"{}")
    s3_client.put_object(Bucket=bucket, Key="team/zp/registry/notes.txt", Body=b"")
    s3_client.put_object(Bucket=bucket, Key="team/zp/registry/old/x.json", Body=b"{}")  # a subfolder's
    assert open_home(parse(f"s3://{bucket}/team/zp")).names("registry/", ".json") == names


# --- what S3 answers, told apart ------------------------------------------------------------------

@pytest.fixture
def s3(monkeypatch, refused):
    for name, value in {"AWS_ENDPOINT_URL": refused, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return open_home(parse("s3://team-bucket/zp"))


def client_error(code: str):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "refused"}}, "PutObject")


@pytest.mark.parametrize("code", ["PreconditionFailed", "ConditionalRequestConflict"])
def test_s3_refusing_a_conditional_write_is_a_conflict(s3, code):
    from zenprovision.errors import WriteConflict

    assert isinstance(s3._translate(client_error(code), "locks/dev.json", "put_object"), WriteConflict)


def test_s3_missing_key_and_bucket(s3):
    missing = s3._translate(client_error("NoSuchKey"), "registry/dev.json", "get_object")
    assert type(missing) is FileNotFoundError and str(missing) == "s3://team-bucket/zp/registry/dev.json"
    bucket = s3._translate(client_error("NoSuchBucket"), "registry/dev.json", "get_object")
    assert isinstance(bucket, HomeAccessError)
    assert bucket.message == "the bucket of the home s3://team-bucket/zp does not exist"
    assert "aws s3 mb s3://team-bucket" in bucket.hint


@pytest.mark.parametrize("code", ["AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId",
                                  "SignatureDoesNotMatch", "403"])
@pytest.mark.parametrize(("method", "verb"), [("get_object", "read"), ("list_objects_v2", "read"),
                                              ("put_object", "write"), ("delete_object", "write")])
def test_s3_refusing_access_names_the_document_and_whether_it_was_read_or_written(s3, code, method, verb):
    error = s3._translate(PermissionError("denied"), "registry/dev.json", method)  # s3fs's translation...
    assert type(error) is OperationFailed  # ...without its cause is no S3 answer
    wrapped = PermissionError("denied")
    wrapped.__cause__ = client_error(code)
    error = s3._translate(wrapped, "registry/dev.json", method)
    assert isinstance(error, HomeAccessError)
    assert error.message == f"no permission to {verb} s3://team-bucket/zp/registry/dev.json ({code})"
    assert "AWS_PROFILE" in error.hint and "`provision stacks`" in error.hint


def test_an_s3_code_is_found_where_the_error_was_raised_while_handling_another(s3):
    later = OSError("while handling")
    later.__context__ = client_error("NoSuchBucket")
    assert isinstance(s3._translate(later, "k", "get_object"), HomeAccessError)


def test_an_s3_endpoint_that_does_not_answer_is_one_line_naming_it(s3, refused):
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    for exc in (EndpointConnectionError(endpoint_url=refused), ConnectTimeoutError(endpoint_url=refused)):
        error = s3._translate(exc, "registry/dev.json", "get_object")
        assert isinstance(error, HomeAccessError)
        assert error.message.startswith(f"the home s3://team-bucket/zp cannot be reached: {type(exc).__name__}: ")
        assert refused in error.message and "AWS_ENDPOINT_URL_S3" in error.hint


def test_s3_without_credentials_says_so(s3):
    from botocore.exceptions import NoCredentialsError, NoRegionError, PartialCredentialsError

    for exc in (NoCredentialsError(), PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
                NoRegionError()):
        error = s3._translate(exc, "k", "get_object")
        assert isinstance(error, HomeAccessError)
        assert error.message == "no AWS credentials to use the home s3://team-bucket/zp"
        assert "AWS_ACCESS_KEY_ID" in error.hint


def test_any_other_s3_failure_is_its_first_line(s3):
    error = s3._translate(RuntimeError("throttled\ntry later"), "k", "put_object")
    assert type(error) is OperationFailed
    assert error.message == "the home s3://team-bucket/zp cannot be reached: RuntimeError: throttled"
    long = s3._translate(RuntimeError("x" * 300), "k", "put_object")
    assert long.message == "the home s3://team-bucket/zp cannot be reached: " + ("RuntimeError: " + "x" * 300)[:200]


def test_a_gcs_listing_takes_a_folder_with_or_without_its_slash_and_an_empty_one_is_empty(
        gcs_emulator, gcs_client, monkeypatch):
    monkeypatch.setenv("ZENPROVISION_ACCEPT_GCS_HOME", "1")
    bucket = unique_bucket_name("list")
    gcs_client.create_bucket(bucket)
    home = open_home(parse(f"gs://{bucket}/team/zp"))
    for key in ("registry/dev.json", "registry/prod.json", "registry/.hidden.json", "registry/old/x.json"):
        home.put(key, b"{}")
    assert home.names("registry/", ".json") == home.names("registry", ".json") == ["dev", "prod"]
    assert home.names("history/dev", ".json") == []
