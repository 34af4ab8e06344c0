"""Outputs written by earlier versions (``runs/<run>/<step>/output/{data.<ext>,meta.json}``, recorded with
that folder as their relpath) are still reused by the cache and by a resumed run, and read from where they
are; one that is gone or damaged there is computed again, never misread."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.runtime.conftest import make_stack
from zenprovision import pipeline, step
from zenprovision.runtime.metadata import db_path
from zenprovision.runtime.runner import run_pipeline

MARKERS = "ZP_EARLIER_LAYOUT_MARKERS"


def _ran(name: str) -> None:
    path = Path(os.environ[MARKERS]) / name
    path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))


@step
def make(n: int = 3) -> list:
    _ran("make")
    return list(range(n))


@step
def add(items: list, bonus: int = 0) -> int:
    _ran("add")
    if not (Path(os.environ[MARKERS]) / "add-ok").exists():
        raise ValueError("add is not ready")
    return sum(items) + bonus


@pipeline
def summed(n: int = 3, bonus: int = 0):
    add(make(n=n), bonus=bonus)


@pytest.fixture
def stack(home, tmp_path, monkeypatch) -> str:
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv(MARKERS, str(folder))
    make_stack("old", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}}, workers=1)
    return "old"


def ran(name: str) -> int:
    path = Path(os.environ[MARKERS]) / name
    return int(path.read_text()) if path.exists() else 0


def allow_add() -> None:
    (Path(os.environ[MARKERS]) / "add-ok").write_text("")


def run(stack: str, **kwargs):
    return run_pipeline(summed, stack, kwargs.pop("params", {}), raise_on_failure=False, **kwargs)


def as_earlier_version(home: Path, stack: str, run_id: str) -> dict[str, Path]:
    """Moves a run's outputs to the layout earlier versions wrote, and records them as those did.

    Returns each step's old output folder."""
    root = home / "artifacts"
    folders = {}
    with sqlite3.connect(db_path(stack)) as db:
        rows = db.execute("SELECT id, node_id, relpath FROM artifacts WHERE run_id=?", (run_id,)).fetchall()
        assert rows
        for artifact_id, node_id, relpath in rows:
            meta_file = root / relpath
            meta = json.loads(meta_file.read_text())
            folder = root / "runs" / run_id / node_id / "output"
            folder.mkdir(parents=True)
            data = f"data{meta['file'].removeprefix(node_id)}"
            (meta_file.parent / meta["file"]).rename(folder / data)
            (folder / "meta.json").write_text(json.dumps({**meta, "file": data}))
            meta_file.unlink()
            db.execute("UPDATE artifacts SET relpath=?, uri=? WHERE id=?",
                       (f"runs/{run_id}/{node_id}/output", folder.as_uri(), artifact_id))
            folders[node_id] = folder
    assert sorted(p.name for p in (root / "runs" / run_id).iterdir()) == sorted(folders)  # nothing of this layout left
    return folders


def test_an_earlier_versions_output_is_reused_from_the_cache_and_read_where_it_is(stack, home):
    allow_add()
    first = run(stack)
    as_earlier_version(home, stack, first.run_id)
    second = run(stack, params={"bonus": 10})  # add runs again and reads make's output from the old folder
    assert second.steps == {"make": "cached", "add": "succeeded"}
    assert second.output("add") == 13 and second.output("make") == [0, 1, 2]
    assert ran("make") == 1 and ran("add") == 2
    assert second.artifacts["make"]["relpath"] == f"runs/{first.run_id}/make/output"


def test_a_resumed_run_reuses_an_earlier_versions_output(stack, home):
    failed = run(stack)
    assert failed.steps == {"make": "succeeded", "add": "failed"}
    as_earlier_version(home, stack, failed.run_id)
    allow_add()
    resumed = run(stack, resume=failed.run_id, cache=False)
    assert resumed.steps == {"make": "cached", "add": "succeeded"}
    assert resumed.output("add") == 3 and ran("make") == 1


@pytest.mark.parametrize("damage", ["no-meta", "empty-meta", "other-hash", "no-folder"])
def test_an_earlier_versions_output_gone_or_damaged_is_computed_again(stack, home, damage):
    allow_add()
    first = run(stack)
    folder = as_earlier_version(home, stack, first.run_id)["make"]
    meta = folder / "meta.json"
    if damage == "no-meta":
        meta.unlink()
    elif damage == "empty-meta":
        meta.write_text("")
    elif damage == "other-hash":
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "hash": "0" * 64}))
    else:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    second = run(stack)
    assert second.steps == {"make": "succeeded", "add": "cached"}
    assert second.output("make") == [0, 1, 2] and ran("make") == 2
    assert second.artifacts["make"]["relpath"] == f"runs/{second.run_id}/.make.meta.json"
