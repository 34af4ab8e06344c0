"""One damaged file in a stack's history hides nothing else: ``provision stacks history`` shows the
readable records and one warning line naming the damaged file and what to do."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from zenprovision.errors import CorruptFileError
from zenprovision.stacks import registry


def deploy_and_destroy(times: int) -> None:
    """``times`` finished deployments of stack dev, archived in its history, then a live one."""
    for _ in range(times + 1):
        record = registry.StackRecord(name="dev", recipe="local", engine="embedded",
                                      created_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
        registry.save(record)
        record = registry.finish(registry.begin(record, "deploy", "deploying", command="recipe"), "active")
        if _ < times:
            registry.retire(registry.begin(record, "destroy", "destroying", command="destroy"))


def test_the_readable_records_are_shown_with_one_warning_per_damaged_file(home, cli):
    deploy_and_destroy(2)
    first, _ = sorted((home / "history" / "dev").glob("*.json"))
    first.write_text('{"name": "dev", "recip')
    result = cli("stacks", "history", "dev")
    assert result.code == 0, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and str(first) in lines[0]
    assert "not valid JSON" in lines[0] and "fix or remove the file" in lines[0]
    assert [line.split()[2:4] for line in result.out.splitlines()[1:]] == [
        ["deploy", "succeeded"], ["destroy", "succeeded"], ["deploy", "succeeded"]]
    rows = json.loads(cli("stacks", "history", "dev", "--json").out)
    assert [row["op"] for row in rows] == ["deploy", "destroy", "deploy"]


def test_a_damaged_current_record_leaves_the_archived_ones_shown(home, cli):
    deploy_and_destroy(1)
    (home / "registry" / "dev.json").write_text('{"name": "dev"}')
    result = cli("stacks", "history", "dev")
    assert result.code == 0, result.err
    assert "registry/dev.json is damaged" in result.err and len(result.err.strip().splitlines()) == 1
    assert [line.split()[2] for line in result.out.splitlines()[1:]] == ["deploy", "destroy"]


def test_only_damaged_files_is_an_error_after_the_warnings(home, cli):
    deploy_and_destroy(1)
    for path in [*(home / "history" / "dev").glob("*.json"), home / "registry" / "dev.json"]:
        path.write_text("{")
    result = cli("stacks", "history", "dev")
    assert result.code == 2 and result.out == ""
    warnings, error = result.err.strip().splitlines()[:-1], result.err.strip().splitlines()[-1]
    assert len(warnings) == 2 and all(w.startswith("warning: ") for w in warnings)
    assert "no readable record" in error


def test_history_without_a_list_for_damaged_files_still_raises(home):
    deploy_and_destroy(1)
    next((home / "history" / "dev").glob("*.json")).write_text("{")
    with pytest.raises(CorruptFileError, match="is damaged"):
        registry.history("dev")
    damaged: list[CorruptFileError] = []
    assert [r.status for r in registry.history("dev", damaged=damaged)] == ["active"]
    assert len(damaged) == 1
