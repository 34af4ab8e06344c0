"""The artifact store contract, run once against every flavor.

Each flavor is described by a ``<flavor>_case`` fixture returning a ``StoreCase``: the
config of a healthy, empty store, the URI its root maps to, the config of a store of the
same flavor that cannot be reached, and how to read the backend directly, with its own
client and not through the store (so a test sees what really landed where). Adding a flavor
means writing that fixture (~20 lines) and adding its name to ``FLAVORS``.

Servers (moto S3, GCS emulator) come from tests/servers.py and run on 127.0.0.1 only.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from zenprovision.errors import ArtifactStoreError
from zenprovision.runtime import flavors

FLAVORS = ["local", "s3", "gcs"]
OBJECT_STORES = ["s3", "gcs"]
CHECK_DEADLINE = 15.0  # seconds a failing check() may take before a user gives up on it


@dataclass
class StoreCase:
    flavor: str
    config: dict[str, Any]  # a healthy store, empty at the start of the test
    root_uri: str  # what uri("") is below
    unreachable: dict[str, Any]  # a store of this flavor that cannot be reached
    names: str  # what the unreachable store's error message must contain
    raw_read: Callable[[str], bytes]  # a URI's bytes, read with the backend's own client
    raw_list: Callable[[], list[str]]  # every object (file) URI of the bucket (folder), same way
    missing_bucket: dict[str, Any] | None = None  # object stores: a bucket that does not exist

    def build(self, config: dict[str, Any] | None = None):
        return flavors.build("artifact_store", self.flavor, self.config if config is None else config)


# --- one fixture per flavor ---------------------------------------------------------------


@pytest.fixture
def dead_endpoint() -> Iterator[str]:
    """An http URL on 127.0.0.1 that refuses connections: the port is bound but never listens,
    so no other process can take it while the test runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def local_case(tmp_path) -> StoreCase:
    root = tmp_path / "store"  # does not exist yet: the store creates it
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_bytes(b"a regular file where the store's folder should be")
    return StoreCase(
        flavor="local",
        config={"path": root.as_uri()},
        root_uri=root.as_uri(),
        unreachable={"path": not_a_folder.as_uri()},
        names=not_a_folder.as_uri(),
        raw_read=lambda uri: Path(urlparse(uri).path).read_bytes(),
        raw_list=lambda: sorted(p.as_uri() for p in root.rglob("*") if p.is_file()),
    )


@pytest.fixture
def s3_case(s3_bucket, s3_client, dead_endpoint) -> StoreCase:
    bucket = s3_bucket["bucket"]

    def raw_read(uri: str) -> bytes:
        found = urlparse(uri)
        assert found.scheme == "s3" and found.netloc == bucket, uri
        return s3_client.get_object(Bucket=bucket, Key=found.path.lstrip("/"))["Body"].read()

    def raw_list() -> list[str]:
        listed = s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(f"s3://{bucket}/{item['Key']}" for item in listed)

    return StoreCase(
        flavor="s3",
        config=s3_bucket,
        root_uri=f"s3://{bucket}/{s3_bucket['prefix']}",
        unreachable={**s3_bucket, "endpoint_url": dead_endpoint},
        names=dead_endpoint,
        raw_read=raw_read,
        raw_list=raw_list,
        # a region other than us-east-1: there s3fs's accidental bucket creation succeeds
        missing_bucket={**s3_bucket, "bucket": f"zp-missing-{uuid.uuid4().hex[:12]}", "region": "eu-west-1"},
    )


@pytest.fixture
def gcs_case(gcs_bucket, gcs_client, dead_endpoint) -> StoreCase:
    bucket = gcs_client.bucket(gcs_bucket["bucket"])

    def raw_read(uri: str) -> bytes:
        found = urlparse(uri)
        assert found.scheme == "gs" and found.netloc == bucket.name, uri
        return bucket.blob(found.path.lstrip("/")).download_as_bytes()

    return StoreCase(
        flavor="gcs",
        config=gcs_bucket,
        root_uri=f"gs://{bucket.name}/{gcs_bucket['prefix']}",
        unreachable={**gcs_bucket, "endpoint_url": dead_endpoint},
        names=dead_endpoint,
        raw_read=raw_read,
        raw_list=lambda: sorted(f"gs://{bucket.name}/{blob.name}" for blob in gcs_client.list_blobs(bucket.name)),
        missing_bucket={**gcs_bucket, "bucket": f"zp-missing-{uuid.uuid4().hex[:12]}"},
    )


@pytest.fixture(params=FLAVORS)
def case(request) -> StoreCase:
    return request.getfixturevalue(f"{request.param}_case")  # starts only the servers needed


@pytest.fixture
def store(case):
    return case.build()


# --- the contract ---------------------------------------------------------------------------


def test_check_on_a_healthy_store_leaves_nothing_behind(case, store):
    store.check()  # writes a probe object and removes it
    assert store.list() == [] and case.raw_list() == []
    store.write_bytes("after-check", b"1")  # and the store is usable afterwards
    assert case.raw_list() == [store.uri("after-check")]


@pytest.mark.slow  # gcsfs retries a refused connection until check()'s 10 s timeout
def test_check_on_unreachable_store_fails_quickly_naming_it(case):
    store = case.build(case.unreachable)
    started = time.monotonic()
    with pytest.raises(ArtifactStoreError) as caught:
        store.check()
    elapsed = time.monotonic() - started
    assert case.names in store.endpoint
    assert store.endpoint in caught.value.message
    assert caught.value.hint
    assert elapsed < CHECK_DEADLINE, f"check() took {elapsed:.1f} s to report an unreachable store"


@pytest.mark.parametrize("case", OBJECT_STORES, indirect=True)
def test_check_fails_on_missing_bucket(case):
    store = case.build(case.missing_bucket)
    with pytest.raises(ArtifactStoreError) as caught:
        store.check()
    assert case.missing_bucket["bucket"] in caught.value.message


@pytest.mark.parametrize(
    "data",
    # just over 5 MiB: chunking. Not ending in b"\r": the GCS emulator reads a multipart upload
    # with Python's email parser, which drops a final "\r" (real GCS keeps it; 1 run in 256 failed)
    [b"", b"hello", bytes(range(256)), random.Random(15).randbytes(5 * 2**20 + 6) + b"!"],
    ids=["empty", "small", "all-byte-values", "5MiB"],
)
def test_round_trip(case, store, data):
    store.write_bytes("blob.bin", data)
    assert store.read_bytes("blob.bin") == data
    assert store.exists("blob.bin")
    assert case.raw_read(store.uri("blob.bin")) == data  # really stored, where uri() says


def test_overwrite_replaces_content(case, store):
    store.write_bytes("model.pkl", b"a much longer first version of the artifact")
    store.write_bytes("model.pkl", b"v2")
    assert store.read_bytes("model.pkl") == b"v2"
    assert store.list() == ["model.pkl"]
    assert case.raw_list() == [store.uri("model.pkl")] and case.raw_read(store.uri("model.pkl")) == b"v2"


def test_nested_paths(case, store):
    deep = "runs/2024-01-01/step_1/outputs/model/weights.bin"
    store.write_bytes(deep, b"w")
    assert store.read_bytes(deep) == b"w"
    assert store.read_bytes("/" + deep) == b"w"  # a leading slash stays below the root
    assert store.list() == [deep]
    assert case.raw_list() == [f"{case.root_uri}/{deep}"]


def test_read_missing_raises_file_not_found(store):
    with pytest.raises(FileNotFoundError):
        store.read_bytes("no/such/file")


def test_list_returns_relative_paths_of_files_below_prefix(store):
    files = ["a/x", "a/b/y", "a/b/c/z", "ab/sibling", "a.txt", "top"]
    for path in files:
        store.write_bytes(path, path.encode())
    assert store.list() == sorted(files)
    assert store.list("") == sorted(files)
    assert store.list("a") == ["a/b/c/z", "a/b/y", "a/x"]  # not "ab/..." nor "a.txt"
    assert store.list("a/") == ["a/b/c/z", "a/b/y", "a/x"]
    assert store.list("a/b") == ["a/b/c/z", "a/b/y"]
    assert store.list("a/x") == ["a/x"]  # a file lists as itself


def test_list_of_missing_prefix_is_empty(store):
    assert store.list() == []  # a fresh store
    assert store.list("missing") == []
    store.write_bytes("present/file", b"1")
    assert store.list("missing") == []
    assert store.list("present/fi") == []  # not a prefix match on names


def test_exists(store):
    store.write_bytes("dir/sub/file", b"1")
    assert store.exists("dir/sub/file")
    assert store.exists("dir/sub")
    assert store.exists("dir")
    assert not store.exists("dir/sub/fil")
    assert not store.exists("di")
    assert not store.exists("missing")


def test_delete_is_recursive_and_spares_siblings(case, store):
    for path in ["run/a", "run/sub/b", "run/sub/deeper/c", "run2/keep", "run.txt"]:
        store.write_bytes(path, b"x")
    store.delete("run")
    assert not store.exists("run")
    assert not store.exists("run/sub/deeper/c")
    assert store.list("run") == []
    assert store.list() == ["run.txt", "run2/keep"]
    assert case.raw_list() == [f"{case.root_uri}/run.txt", f"{case.root_uri}/run2/keep"]


def test_delete_single_file(store):
    store.write_bytes("d/one", b"1")
    store.write_bytes("d/two", b"2")
    store.delete("d/one")
    assert not store.exists("d/one")
    assert store.list() == ["d/two"]


def test_delete_is_idempotent(store):
    store.delete("never/written")  # no error
    store.write_bytes("d/f", b"1")
    store.delete("d")
    store.delete("d")
    store.delete("d/f")
    assert store.list() == []


def test_uri(case, store):
    assert case.root_uri.split("://")[0] in ("file", "s3", "gs")
    assert store.uri("a/b.bin") == f"{case.root_uri}/a/b.bin"
    assert store.uri("/a/b.bin") == f"{case.root_uri}/a/b.bin"
    store.write_bytes("a/b.bin", b"here")
    assert case.raw_read(f"{case.root_uri}/a/b.bin") == b"here"


def test_second_store_sees_writes_and_deletes(case):
    """Steps run in other processes: a long-lived store must not answer from a stale cache."""
    first, second = case.build(), case.build()
    first.write_bytes("d/1", b"1")
    assert first.list("d") == ["d/1"]
    assert not first.exists("d/2")

    second.write_bytes("d/2", b"2")
    assert first.list("d") == ["d/1", "d/2"]
    assert first.exists("d/2")
    assert first.read_bytes("d/2") == b"2"

    second.delete("d")
    assert first.list("d") == []
    assert not first.exists("d/1")
    assert not first.exists("d")


# --- local disk only --------------------------------------------------------------------------


def _files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_local_write_leaves_no_temp_file(local_case, tmp_path):
    store = local_case.build()
    store.write_bytes("m/model.pkl", b"v1")
    store.write_bytes("m/model.pkl", b"v2")  # overwrite goes through the temp file again
    store.write_bytes("m/empty", b"")
    assert _files_under(tmp_path / "store") == ["m/empty", "m/model.pkl"]
    assert store.list() == ["m/empty", "m/model.pkl"]


def test_local_failed_write_leaves_no_temp_file(local_case, tmp_path):
    store = local_case.build()
    store.write_bytes("m/model.pkl/inside", b"1")  # makes m/model.pkl a folder
    with pytest.raises(OSError):
        store.write_bytes("m/model.pkl", b"cannot replace a folder")
    assert _files_under(tmp_path / "store") == ["m/model.pkl/inside"]
