"""`stacks history` says its times are UTC: teammates in other time zones read the same record, and
`provision runs` (this machine's runs) shows local time beside it."""

from datetime import datetime, timezone

from tests.conftest import run_cli
from zenprovision.stacks import registry


def test_history_times_are_labelled_utc_in_any_time_zone(home, record_clock):
    record = registry.StackRecord(name="dev", recipe="local", engine="embedded", env="dev", owner="ana",
                                  created_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))
    registry.save(record)
    record_clock("2026-12-01T09:30:00Z")
    registry.finish(registry.begin(record, "deploy", "deploying"), "active")
    shown = run_cli("stacks", "history", "dev", env={"TZ": "Pacific/Kiritimati"})
    assert shown.code == 0, shown.err
    header, row = shown.out.splitlines()[:2]
    assert header.split()[:2] == ["started", "(UTC)"] and row.split()[:2] == ["2026-12-01", "09:30:00"]
