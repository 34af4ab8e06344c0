"""Listing stacks reads plain records without pydantic, and agrees with the registry's model."""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from zenprovision.stacks import overview, plain_records, registry


def _record(name: str, **fields) -> registry.StackRecord:
    record = registry.StackRecord(name=name, recipe="local", engine="embedded", env="staging", owner="ana",
                                  ttl="8h", created_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc), **fields)
    registry.save(record)
    return registry.begin(record, "up", "deploying")


def test_a_plain_record_lists_as_the_registry_reads_it(home, monkeypatch):
    monkeypatch.setenv(registry.NOW_ENV, "2026-12-01T18:00:00Z")
    record = registry.finish(_record("dev"), "active")
    plain = plain_records.read("dev")
    assert plain is not None
    assert overview.summarize("dev") == overview._plain_summary(plain)
    summary = overview.summarize("dev")
    assert (summary.age, summary.expired, summary.status, summary.last_result) == (
        record.age(), record.expired(), "active", "succeeded")


@pytest.mark.parametrize("change", [
    {"status": "gone"}, {"status": ["active"]}, {"ttl": "8x"}, {"ttl": 8}, {"created_at": "yesterday"},
    {"created_at": "2026-12-01T09:30:00"}, {"name": "other"}, {"extra": 1}, {"recipe": 3},
    {"operations": [{"op": "up"}]}, {"operations": [{"op": "up", "started": "2026-12-01T09:30:00Z", "result": "x"}]},
])
def test_anything_unusual_is_left_to_the_registry(home, change):
    _record("dev")
    path = plain_records.record_path("dev")
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    assert plain_records.read("dev") is None


def test_a_damaged_record_still_lists_as_damaged(home):
    _record("dev")
    plain_records.record_path("dev").write_text('{"name": "dev", "recipe": 3}')
    (row,) = overview.summaries()
    assert row.status == "damaged" and "field recipe" in row.problem


def test_provision_stacks_imports_no_pydantic_and_no_yaml(home):
    _record("dev")
    code = ("import sys; from zenprovision.cli import main; sys.argv = ['provision', 'stacks']\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print('heavy:', sorted(m for m in ('pydantic', 'yaml', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ}).stdout
    assert "dev" in out and "heavy: []" in out


class _Python310Datetime(datetime):
    """datetime as Python 3.10 has it: ``fromisoformat`` does not read a trailing ``Z``."""

    @classmethod
    def fromisoformat(cls, text: str) -> datetime:
        if text.endswith("Z"):
            raise ValueError(f"Invalid isoformat string: {text!r}")
        return datetime.fromisoformat(text)


def test_a_record_with_utc_written_as_z_is_plain_on_python_3_10_too(home, monkeypatch):
    registry.finish(_record("dev"), "active")
    assert '"created_at": "2026-12-01T09:30:00Z"' in plain_records.record_path("dev").read_text()
    monkeypatch.setattr(plain_records, "datetime", _Python310Datetime)
    plain = plain_records.read("dev")
    assert plain is not None and plain["created_at"] == datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
