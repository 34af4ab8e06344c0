"""The artifact store contract, run once against every flavor.

Each flavor is described by a ``<flavor>_case`` fixture returning a ``StoreCase``: the
config of a healthy, empty store, the URI its root maps to, and the config of a store of the
same flavor that cannot be reached. Adding a flavor means writing that fixture (~20 lines)
and adding its name to ``FLAVORS``. Known product bugs of one flavor are declared in its case
as xfail marks on the test they break, so the rest of the suite still runs for it.

Servers (moto S3, GCS emulator) come from tests/servers.py and run on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from zenprovision.errors import ArtifactStoreError
from zenprovision.runtime import flavors

FLAVORS = ["local", "s3", "gcs"]
OBJECT_STORES = ["s3", "gcs"]
CHECK_DEADLINE = 15.0  # seconds a failing check() may take before a user gives up on it



def known_bug(reason: str, run: bool = True) -> pytest.MarkDecorator:
    """An xfail mark for a product bug; strict, so the test fails once the bug is fixed."""
    return pytest.mark.xfail(reason=f"{reason} (remove this mark once fixed)", strict=True, run=run)


@dataclass
class StoreCase:
    flavor: str
    config: dict[str, Any]  # a healthy store, empty at the start of the test
    root_uri: str  # what uri("") is below
    unreachable: dict[str, Any]  # a store of this flavor that cannot be reached
    names: str  # what the unreachable store's error message must contain
    missing_bucket: dict[str, Any] | None = None  # object stores: a bucket that does not exist
    known_issues: dict[str, pytest.MarkDecorator] = field(default_factory=dict)  # test name -> mark

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
    )


@pytest.fixture
def s3_case(s3_bucket, dead_endpoint) -> StoreCase:
    return StoreCase(
        flavor="s3",
        config=s3_bucket,
        root_uri=f"s3://{s3_bucket['bucket']}/{s3_bucket['prefix']}",
        unreachable={**s3_bucket, "endpoint_url": dead_endpoint},
        names=dead_endpoint,
        # a region other than us-east-1: there s3fs's accidental bucket creation succeeds
        missing_bucket={**s3_bucket, "bucket": f"zp-missing-{uuid.uuid4().hex[:12]}", "region": "eu-west-1"},
    )


@pytest.fixture
def gcs_case(gcs_bucket, dead_endpoint) -> StoreCase:
    return StoreCase(
        flavor="gcs",
        config=gcs_bucket,
        root_uri=f"gs://{gcs_bucket['bucket']}/{gcs_bucket['prefix']}",
        unreachable={**gcs_bucket, "endpoint_url": dead_endpoint},
        names=dead_endpoint,
        missing_bucket={**gcs_bucket, "bucket": f"zp-missing-{uuid.uuid4().hex[:12]}"},
    )


@pytest.fixture(params=FLAVORS)
def case(request) -> StoreCase:
    found = request.getfixturevalue(f"{request.param}_case")  # starts only the servers needed
    mark = found.known_issues.get(request.node.originalname)
    if mark is not None:
        request.applymarker(mark)
    return found


@pytest.fixture
def store(case):
    return case.build()


# --- the contract ---------------------------------------------------------------------------


def test_check_passes_on_healthy_store(store):
    store.check()


def test_check_leaves_nothing_behind(store):
    store.check()
    assert store.list() == []


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
    [b"", b"hello", bytes(range(256)), os.urandom(5 * 2**20 + 7)],  # just over 5 MiB: chunking
    ids=["empty", "small", "all-byte-values", "5MiB"],
)
def test_round_trip(store, data):
    store.write_bytes("blob.bin", data)
    assert store.read_bytes("blob.bin") == data
    assert store.exists("blob.bin")


def test_overwrite_replaces_content(store):
    store.write_bytes("model.pkl", b"a much longer first version of the artifact")
    store.write_bytes("model.pkl", b"v2")
    assert store.read_bytes("model.pkl") == b"v2"
    assert store.list() == ["model.pkl"]


def test_nested_paths(store):
    deep = "runs/2024-01-01/step_1/outputs/model/weights.bin"
    store.write_bytes(deep, b"w")
    assert store.read_bytes(deep) == b"w"
    assert store.read_bytes("/" + deep) == b"w"  # a leading slash stays below the root
    assert store.list() == [deep]


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


def test_delete_is_recursive_and_spares_siblings(store):
    for path in ["run/a", "run/sub/b", "run/sub/deeper/c", "run2/keep", "run.txt"]:
        store.write_bytes(path, b"x")
    store.delete("run")
    assert not store.exists("run")
    assert not store.exists("run/sub/deeper/c")
    assert store.list("run") == []
    assert store.list() == ["run.txt", "run2/keep"]


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
    scheme = case.root_uri.split("://")[0] + "://"
    assert scheme in ("file://", "s3://", "gs://")
    assert store.uri("a/b.bin") == f"{case.root_uri}/a/b.bin"
    assert store.uri("a/b.bin").startswith(scheme)


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
