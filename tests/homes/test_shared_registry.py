"""The registry in a shared home: operations are never lost to a concurrent writer, say who
ran them, and a destroyed stack's record moves to its history."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from zenprovision import home
from zenprovision.stacks import overview, plain_records, registry


def _new(name: str = "dev") -> registry.StackRecord:
    return registry.StackRecord(name=name, recipe="local", engine="embedded", owner="ana",
                                created_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))


def _another_machine_appends(op: str, name: str = "dev") -> None:
    """What a command on another machine does: read the record and write it back with one more operation."""
    store = home.objects()
    blob = store.get(f"registry/{name}.json")
    record = json.loads(blob.data)
    record["operations"].append({"op": op, "started": "2026-12-01T10:00:00Z", "by": "bo@elsewhere",
                                 "result": "succeeded", "ended": "2026-12-01T10:00:01Z"})
    store.put(f"registry/{name}.json", json.dumps(record).encode(), if_match=blob.etag)


@pytest.fixture(params=["folder", "s3"])
def any_home(request, tmp_path, monkeypatch):
    if request.param == "s3":
        return request.getfixturevalue("team_home")
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "home"))
    return None


def test_an_operation_and_a_concurrent_one_are_both_kept(any_home):
    record = registry.begin(_new(), "deploy", "deploying")
    _another_machine_appends("refresh")
    registry.finish(record, "active")
    stored = registry.load("dev")
    assert [(o.op, o.result) for o in stored.operations] == [("deploy", "succeeded"), ("refresh", "succeeded")]
    assert stored.status == "active" and record.operations == stored.operations


def test_operations_say_who_ran_them_and_with_which_command(any_home, monkeypatch):
    monkeypatch.setattr("sys.argv", ["provision", "--home", "s3://b/p", "teardown", "--env", "dev"])
    record = registry.begin(_new(), "destroy", "destroying")
    assert record.last.by == registry.who() and "@" in record.last.by
    assert record.last.command == "teardown"
    explicit = registry.begin(record, "force-unlock", "active", by="ops@ci", command="unlock")
    assert (explicit.last.by, explicit.last.command) == ("ops@ci", "unlock")
    assert plain_records.read("dev") is not None  # the listing's fast path takes the new fields


def test_records_of_the_previous_version_still_read(any_home):
    old = {"name": "dev", "recipe": "local", "engine": "embedded", "created_at": "2026-12-01T09:30:00Z",
           "status": "active", "operations": [{"op": "deploy", "started": "2026-12-01T09:30:00Z",
                                               "ended": "2026-12-01T09:31:00Z", "result": "succeeded", "error": ""}]}
    home.objects().put("registry/dev.json", json.dumps(old).encode())
    assert registry.load("dev").last.by == "" and plain_records.read("dev")["operations"][0]["op"] == "deploy"
    record = registry.begin(registry.load("dev"), "refresh", "active")
    assert [o.op for o in registry.load("dev").operations] == ["deploy", "refresh"] and record.last.by


def test_a_record_that_keeps_changing_is_an_error_not_a_lost_write(any_home, monkeypatch):
    record = registry.begin(_new(), "deploy", "deploying")
    real_load = registry.load

    def meddling_load(name):
        found = real_load(name)
        _another_machine_appends("refresh")  # someone writes between every read and write
        return found

    monkeypatch.setattr(registry, "load", meddling_load)
    _another_machine_appends("refresh")
    with pytest.raises(registry.WriteConflict, match="kept changing"):
        registry.finish(record, "active")


def test_a_destroyed_stack_moves_to_its_history(any_home):
    first = registry.finish(registry.begin(_new(), "deploy", "deploying"), "active")
    registry.retire(registry.begin(first, "destroy", "destroying"))
    assert registry.load("dev") is None and "dev" not in overview.registered_names()
    second = registry.begin(_new(), "deploy", "deploying")
    (archived, current) = registry.history("dev")
    assert [(o.op, o.result) for o in archived.operations] == [("deploy", "succeeded"), ("destroy", "succeeded")]
    assert archived.status == "destroyed" and current.operations == second.operations
    assert home.objects().names("history/dev", ".json")


def test_listing_reads_each_record_once(team_home, monkeypatch):
    for name in ("a", "b", "c"):
        registry.finish(registry.begin(_new(name), "deploy", "deploying"), "active")
    store = home.objects()
    reads = []
    real_get = store.get
    monkeypatch.setattr(store, "get", lambda key: reads.append(key) or real_get(key))
    assert [row.name for row in overview.summaries()] == ["a", "b", "c"]
    assert sorted(reads) == ["registry/a.json", "registry/b.json", "registry/c.json"]  # a request each on a bucket


def test_a_record_read_earlier_never_overwrites_a_newer_one(any_home):
    registry.finish(registry.begin(_new(), "deploy", "deploying"), "active")
    earlier = registry.load("dev")
    _another_machine_appends("refresh")
    registry.load("dev")  # another part of this process reads the newer version meanwhile
    registry.begin(earlier, "destroy", "destroying")
    assert [o.op for o in registry.load("dev").operations] == ["deploy", "refresh", "destroy"]


def test_a_record_removed_meanwhile_is_not_brought_back(any_home):
    record = registry.begin(_new(), "refresh", "active")
    home.objects().delete("registry/dev.json")  # its stack was destroyed from another machine
    with pytest.raises(registry.WriteConflict, match="was removed by another command"):
        registry.finish(record, "active")
    assert registry.load("dev") is None
