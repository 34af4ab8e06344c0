"""The stack registry, as mutation testing showed it needs pinning down: a damaged record is one line
naming its file and the field at fault; a stack's history lists every archived record, oldest first,
then its current one, and a damaged or vanished file hides no other; archiving never overwrites an
earlier record of the same instant; a record another command removed is not brought back; ttl
expiry and the listings of every, damaged and registered stack.

Mutants left alive are equivalent: ``timedelta(microseconds=2)`` for ``1`` in ``archive`` (the next
free name is still later than the taken one, so the order is kept), and the hint's text in ``parse``
and ``archive`` spelled in capitals or wrapped in ``XX`` (asserted only to be there, not worded), and
the record file's indentation (``indent=None`` or ``2``) or ``"UTF-8"``: every reader parses the JSON.

Left alive, not equivalent: the error after ``_RETRIES`` conflicts in a row in ``_update`` (a record
that kept changing under a command); reproducing eight lost races needs a writer racing in step.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from zenprovision.errors import CorruptFileError, WriteConflict
from zenprovision.homes import documents
from zenprovision.stacks import registry, store
from zenprovision.stacks.config import StackConfig

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def new(name: str = "dev", **fields) -> registry.StackRecord:
    return registry.StackRecord(name=name, recipe="local", engine="embedded", created_at=T0, **fields)


def deployed(name: str = "dev") -> registry.StackRecord:
    record = new(name)
    registry.save(record)
    return registry.finish(registry.begin(record, "deploy", "deploying", command="recipe"), "active")


def damaged_message(home: Path, text: str) -> CorruptFileError:
    (home / "registry").mkdir(parents=True, exist_ok=True)
    (home / "registry" / "dev.json").write_text(text)
    with pytest.raises(CorruptFileError) as caught:
        registry.load("dev")
    return caught.value


# --- a damaged record: one line, its file, the field -----------------------------------------------

def test_a_record_that_is_no_json_says_so_and_names_its_file(home):
    error = damaged_message(home, '{"name": "dev", "recip')
    assert error.message == f"stack record {home / 'registry' / 'dev.json'} is damaged: not valid JSON"
    assert "fix or remove the file" in error.hint and error.exit_code == 2


def test_a_bad_field_is_named_by_its_path_in_the_record_with_what_is_wrong(home):
    record = json.loads(registry._dump(deployed()))
    record["operations"][0]["started"] = "yesterday"
    error = damaged_message(home, json.dumps(record))
    assert error.message.startswith(f"stack record {home / 'registry' / 'dev.json'} is damaged: "
                                    "field operations.0.started: Input should be a valid datetime")
    assert "\n" not in error.message and "fix or remove the file" in error.hint


def test_a_record_that_is_no_object_is_wrong_at_the_top_level(home):
    error = damaged_message(home, "[1, 2]")
    assert error.message.endswith("is damaged: field (top level): Input should be an object")


def test_a_record_that_cannot_be_read_names_the_error_in_one_line(home):
    (home / "registry" / "dev.json").mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(CorruptFileError) as caught:
        registry.load("dev")
    assert caught.value.message.startswith(f"stack record {home / 'registry' / 'dev.json'} is damaged: IsADirectoryError: ")
    assert "\n" not in caught.value.message and "fix or remove the file" in caught.value.hint


# --- a record removed by another command is not brought back ---------------------------------------

def test_a_saved_record_removed_meanwhile_is_not_written_again_by_the_next_operation(home):
    record = new()
    registry.save(record)
    registry.remove("dev")  # its destroy finished in another command
    with pytest.raises(WriteConflict, match="was removed by another command"):
        registry.begin(record, "deploy", "deploying")
    assert registry.load("dev") is None


# --- the history --------------------------------------------------------------------------------

def history_files(home: Path) -> list[Path]:
    return sorted((home / "history" / "dev").glob("*.json"))


def test_an_archived_record_is_named_by_when_its_last_operation_ended(home, record_clock):
    record = deployed()
    record_clock("2026-12-02T10:00:00.000005Z")
    record = registry.begin(record, "destroy", "destroying")
    record_clock("2026-12-02T10:07:08.000009Z")
    registry.finish(record, "destroyed")
    record_clock("2026-12-03T00:00:00Z")  # archived later: still named by the end
    assert registry.archive(record) == "history/dev/20261202T100708000009Z.json"
    assert [p.name for p in history_files(home)] == ["20261202T100708000009Z.json"]


def test_operations_and_archives_under_an_injected_clock_carry_the_real_time(home, monkeypatch):
    monkeypatch.setenv(registry.NOW_ENV, "2099-01-01T00:00:00Z")  # decides expiry; records nothing
    before = datetime.now(timezone.utc)
    record = deployed()
    assert before <= record.last.started <= record.last.ended <= datetime.now(timezone.utc)
    assert registry.archive(record) == registry.history_key("dev", record.last.ended)
    assert before <= registry.recorded_now() <= datetime.now(timezone.utc) < registry.now()


def test_an_operation_still_running_names_the_archive_by_its_start(home, record_clock):
    record = deployed()
    record_clock("2026-12-02T10:00:00Z")
    record = registry.begin(record, "destroy", "destroying")
    record_clock("2026-12-03T00:00:00Z")
    assert registry.archive(record) == "history/dev/20261202T100000000000Z.json"


def test_a_record_without_operations_is_archived_under_the_time_now(home, record_clock):
    record_clock("2026-12-04T01:02:03Z")
    assert registry.archive(new()) == "history/dev/20261204T010203000000Z.json"


def test_archives_of_one_instant_are_all_kept_in_the_order_they_were_made(home):
    record = deployed()
    keys = []
    for owner in ("ana", "bo", "cy"):
        record.owner = owner
        keys.append(registry.archive(record))
    assert len(set(keys)) == 3 and keys == sorted(keys)
    registry.remove("dev")
    assert [r.owner for r in registry.history("dev")] == ["ana", "bo", "cy"]


def test_archiving_gives_up_in_one_line_when_every_next_name_is_taken(home):
    record = deployed()
    at = record.last.ended
    for step in range(registry._RETRIES):
        documents.create(registry.history_key("dev", at + timedelta(microseconds=step)), b"{}")
    with pytest.raises(WriteConflict) as caught:
        registry.archive(record)
    assert caught.value.message == "could not archive stack record 'dev' under history/"
    assert caught.value.hint and len(history_files(home)) == registry._RETRIES


def test_the_history_is_every_archived_record_oldest_first_then_the_current_one(home, record_clock):
    for day in (1, 2, 3):
        record_clock(f"2026-12-0{day}T00:00:00Z")
        record = deployed()
        if day < 3:
            registry.retire(registry.begin(record, "destroy", "destroying"))
    shown = registry.history("dev")
    assert [r.status for r in shown] == ["destroyed", "destroyed", "active"]
    assert [r.operations[0].started.day for r in shown] == [1, 2, 3]


def test_a_damaged_file_in_the_history_is_reported_with_its_path_and_hides_nothing_else(home):
    deployed()
    registry.archive(registry.load("dev"))
    registry.archive(registry.load("dev"))
    first = history_files(home)[0]
    first.write_text("{")
    found: list[CorruptFileError] = []
    assert len(registry.history("dev", damaged=found)) == 2  # the other archive and the current record
    assert [e.message for e in found] == [f"stack record {first} is damaged: not valid JSON"]


def test_a_damaged_current_record_goes_to_the_list_too(home):
    deployed()
    registry.archive(registry.load("dev"))
    (home / "registry" / "dev.json").write_text("{")
    found: list[CorruptFileError] = []
    assert [r.status for r in registry.history("dev", damaged=found)] == ["active"]
    assert len(found) == 1 and str(home / "registry" / "dev.json") in found[0].message


def test_an_archived_file_removed_after_it_was_listed_is_left_out(home, monkeypatch):
    deployed()
    registry.archive(registry.load("dev"))
    listed = documents.names

    def names_then_removed(folder: str, suffix: str) -> list[str]:
        stems = listed(folder, suffix)
        for path in history_files(home):
            path.unlink()  # a teammate's sweep removed it meanwhile
        return stems

    monkeypatch.setattr(documents, "names", names_then_removed)
    found: list[CorruptFileError] = []
    assert [r.status for r in registry.history("dev", damaged=found)] == ["active"] and found == []


# --- expiry, age and the listings -------------------------------------------------------------------

def test_a_stack_expires_at_created_plus_ttl_not_a_microsecond_earlier(home):
    record = new(ttl="8h")
    end = T0 + timedelta(hours=8)
    assert record.expires_at == end
    assert not record.expired(end - timedelta(microseconds=1))
    assert record.expired(end) and record.expired(end + timedelta(days=1))
    assert not new().expired(end + timedelta(days=3650))  # no ttl: never


def test_expiry_and_age_go_by_the_registry_clock_when_no_time_is_given(home, monkeypatch):
    record = new(ttl="1h")
    monkeypatch.setenv(registry.NOW_ENV, "2026-12-01T10:29:59Z")
    assert not record.expired() and record.age() == timedelta(minutes=59, seconds=59)
    monkeypatch.setenv(registry.NOW_ENV, "2026-12-01T10:30:00Z")
    assert record.expired() and record.age(T0 + timedelta(days=1)) == timedelta(days=1)


def test_the_listings_name_readable_damaged_and_configured_stacks(home):
    for name in ("alpha", "beta", "gamma"):
        deployed(name)
    (home / "registry" / "beta.json").write_text("{")
    (home / "registry" / "-not a stack-.json").write_text("{")  # not ours: no stack has that name
    (home / "registry" / "zeta.json").write_text('{"name": "zeta"}')  # after it in the listing, damaged
    store.save(StackConfig.model_validate({
        "name": "omega", "recipe": "local", "engine": "embedded", "created_at": "2026-12-02T00:00:00Z",
        "components": {"artifact_store": {"flavor": "local", "config": {"path": str(home / "artifacts")}},
                       "orchestrator": {"flavor": "local", "config": {"workers": 1}},
                       "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:1"}}}}))
    assert [r.name for r in registry.all_records()] == ["alpha", "gamma"]
    problems = registry.damaged()
    assert sorted(problems) == ["beta", "zeta"]
    assert problems["beta"] == f"stack record {home / 'registry' / 'beta.json'} is damaged: not valid JSON"
    assert registry.registered_names() == {"alpha", "beta", "gamma", "zeta", "omega"}


# --- who and what ran an operation, and how it ended ---------------------------------------------

def test_a_record_copied_from_another_stack_is_damaged_not_that_stack(home):
    error = damaged_message(home, registry._dump(new("prod")).decode())
    assert error.message == (f"stack record {home / 'registry' / 'dev.json'} is damaged: field name: says 'prod', "
                             "but the file is stack 'dev'")
    assert '"name": "dev"' in error.hint


def test_a_failed_operation_keeps_its_error_scrubbed_and_cut_to_500_characters(home):
    record = registry.begin(deployed(), "destroy", "destroying")
    registry.finish(record, "destroy-failed", error="x" * 600)
    last = registry.load("dev").last
    assert (last.op, last.result, last.error) == ("destroy", "failed", "x" * 500)
    assert registry.load("dev").status == "destroy-failed"


def test_an_operation_rewritten_away_by_another_command_is_put_back_when_it_ends(home):
    record = registry.begin(deployed(), "destroy", "destroying")
    other = registry.load("dev")
    other.operations = other.operations[:1]  # another command wrote the record without it
    registry.save(other)
    registry.finish(record, "destroyed")
    assert [(o.op, o.result) for o in registry.load("dev").operations] == [("deploy", "succeeded"),
                                                                         ("destroy", "succeeded")]


def test_the_refusal_to_bring_back_a_removed_record_says_where_to_look(home):
    record = new()
    registry.save(record)
    registry.remove("dev")
    with pytest.raises(WriteConflict) as caught:
        registry.begin(record, "deploy", "deploying")
    assert caught.value.message == (f"stack record {home / 'registry' / 'dev.json'} was removed by another "
                                    "command while this one ran")
    assert "provision stacks history dev" in caught.value.hint


def test_a_user_without_a_name_is_unknown_at_this_host(monkeypatch):
    import getpass
    import socket

    def nameless() -> str:
        raise KeyError("getpwuid(): uid not found: 1001")  # a container's user without a passwd entry

    monkeypatch.setattr(getpass, "getuser", nameless)
    assert registry.who() == f"unknown@{socket.gethostname()}"


@pytest.mark.parametrize(("argv", "command"), [
    (["provision", "--home", "/srv/zp", "destroy", "dev"], "destroy"),
    (["provision", "-v", "teardown", "--yes"], "teardown"),
    (["provision", "--home"], ""),
    (["provision", "Deploy!", "dev"], ""),
    (["provision"], ""),
])
def test_the_command_recorded_is_the_first_word_never_an_option_or_argument(monkeypatch, argv, command):
    monkeypatch.setattr("sys.argv", argv)
    assert registry.current_command() == command
