"""A damaged history file hides nothing else: teardown still names who destroyed a stack."""

from __future__ import annotations

from zenprovision.errors import NotFoundError
from zenprovision.stacks import registry
from zenprovision.teardown import already_destroyed, destroy_with_retries


def _destroyed_by_bob(record_clock) -> None:
    record_clock("2026-12-02T09:10:03+00:00")
    record = registry.StackRecord(name="x", recipe="files", engine="embedded", created_at=registry.recorded_now())
    registry.begin(record, "deploy", "deploying")
    registry.finish(record, "active")
    registry.begin(record, "destroy", "destroying", by="bob@ci", command="teardown")
    registry.retire(record)


def test_one_damaged_history_file_still_names_who_destroyed_the_stack(home, record_clock):
    _destroyed_by_bob(record_clock)
    folder = home / "history" / "x"
    assert len(list(folder.glob("*.json"))) == 1
    (folder / "20261201T000000000000Z.json").write_text("{not json")  # an older file, damaged

    def gone(name):
        raise NotFoundError("no stack named 'x'")

    outcome = destroy_with_retries("x", destroy=gone, backoff=0.01)
    assert outcome.result == "skipped"
    assert outcome.reason.startswith("already destroyed by bob@ci (teardown) at 2026-12-02 09:10:03 UTC")
    assert "1 damaged history file" in outcome.reason


def test_a_history_of_damaged_files_only_gives_the_plain_reason(home, monkeypatch):
    folder = home / "history" / "x"
    folder.mkdir(parents=True)
    (folder / "20261201T000000000000Z.json").write_text("{not json")
    assert already_destroyed("x").startswith("already destroyed by another command")
