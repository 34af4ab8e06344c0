"""The metadata store: runs, steps, artifacts and lineage in SQLite, one file per stack.

Only the orchestrating process writes; WAL with synchronous=NORMAL keeps a step's
bookkeeping well under a millisecond while staying crash-safe.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from zenprovision import home
from zenprovision.errors import NotFoundError
from zenprovision.stacks.names import validate_stack_name

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, pipeline TEXT, file TEXT, stack TEXT, status TEXT,
    params TEXT, started REAL, ended REAL, error TEXT, resumed_from TEXT, metadata TEXT DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT, node_id TEXT, step TEXT, status TEXT, started REAL, ended REAL, error TEXT,
    attempts INTEGER DEFAULT 0, cache_key TEXT, cached_from TEXT, metadata TEXT DEFAULT '{}',
    PRIMARY KEY (run_id, node_id)
);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, node_id TEXT, name TEXT, uri TEXT,
    relpath TEXT, hash TEXT, materializer TEXT, type TEXT, size INTEGER
);
CREATE TABLE IF NOT EXISTS lineage (run_id TEXT, node_id TEXT, input TEXT, artifact_id INTEGER);
CREATE INDEX IF NOT EXISTS steps_cache ON steps (cache_key, status);
"""


def db_path(stack: str) -> Path:
    return home.home() / "metadata" / f"{validate_stack_name(stack)}.db"


class MetadataStore:
    def __init__(self, stack: str) -> None:
        path = db_path(stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def start_run(self, run_id: str, pipeline: str, file: str, stack: str, params: dict, resumed_from: str | None) -> None:
        self.db.execute(
            "INSERT INTO runs (id, pipeline, file, stack, status, params, started, resumed_from) VALUES (?,?,?,?,?,?,?,?)",
            (run_id, pipeline, file, stack, "running", json.dumps(params, default=repr), time.time(), resumed_from),
        )

    def end_run(self, run_id: str, status: str, error: str | None = None) -> None:
        self.db.execute("UPDATE runs SET status=?, ended=?, error=? WHERE id=?", (status, time.time(), error, run_id))
        self.db.execute("UPDATE steps SET status='aborted', ended=? WHERE run_id=? AND status='running'",
                        (time.time(), run_id))

    def add_run_metadata(self, run_id: str, values: dict[str, Any]) -> None:
        row = self.db.execute("SELECT metadata FROM runs WHERE id=?", (run_id,)).fetchone()
        merged = {**json.loads(row["metadata"] or "{}"), **values}
        self.db.execute("UPDATE runs SET metadata=? WHERE id=?", (json.dumps(merged, default=repr), run_id))

    def step_status(self, run_id: str, node_id: str, step: str, status: str, **fields: Any) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO steps (run_id, node_id, step, status, started) VALUES (?,?,?,?,?) "
            "ON CONFLICT(run_id, node_id) DO UPDATE SET status=excluded.status",
            (run_id, node_id, step, status, now),
        )
        if status in ("succeeded", "failed", "cached", "skipped", "aborted"):
            fields["ended"] = now
        for key, value in fields.items():
            if key == "metadata":
                value = json.dumps(value, default=repr)
            self.db.execute(f"UPDATE steps SET {key}=? WHERE run_id=? AND node_id=?", (value, run_id, node_id))

    def add_artifact(self, run_id: str, node_id: str, name: str, info: dict[str, Any]) -> int:
        cursor = self.db.execute(
            "INSERT INTO artifacts (run_id, node_id, name, uri, relpath, hash, materializer, type, size) VALUES (?,?,?,?,?,?,?,?,?)",
            (run_id, node_id, name, info["uri"], info["relpath"], info["hash"], info["materializer"], info["type"], info["size"]),
        )
        return cursor.lastrowid

    def add_lineage(self, run_id: str, node_id: str, inputs: dict[str, int]) -> None:
        self.db.executemany("INSERT INTO lineage VALUES (?,?,?,?)",
                            [(run_id, node_id, name, artifact_id) for name, artifact_id in inputs.items()])

    def cached_output(self, cache_key: str) -> dict[str, Any] | None:
        """The newest artifact of a succeeded step with this cache key."""
        row = self.db.execute(
            "SELECT a.*, s.run_id AS source_run FROM steps s JOIN artifacts a "
            "ON a.run_id = s.run_id AND a.node_id = s.node_id "
            "WHERE s.cache_key=? AND s.status IN ('succeeded') ORDER BY s.ended DESC LIMIT 1",
            (cache_key,),
        ).fetchone()
        return dict(row) if row else None

    def step_outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Artifacts of the steps that succeeded (or were cached) in a run, by node."""
        rows = self.db.execute(
            "SELECT a.*, s.cache_key AS cache_key FROM artifacts a JOIN steps s "
            "ON a.run_id = s.run_id AND a.node_id = s.node_id "
            "WHERE a.run_id=? AND s.status IN ('succeeded', 'cached')", (run_id,),
        ).fetchall()
        return {row["node_id"]: dict(row) for row in rows}

    def run(self, run_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run {run_id!r}", hint="see `provision runs`")
        run = dict(row)
        run["params"] = json.loads(run["params"] or "{}")
        run["metadata"] = json.loads(run["metadata"] or "{}")
        run["steps"] = [
            {**dict(s), "metadata": json.loads(s["metadata"] or "{}")}
            for s in self.db.execute("SELECT * FROM steps WHERE run_id=? ORDER BY started", (run_id,))
        ]
        run["artifacts"] = [dict(a) for a in self.db.execute("SELECT * FROM artifacts WHERE run_id=?", (run_id,))]
        run["lineage"] = [dict(x) for x in self.db.execute("SELECT * FROM lineage WHERE run_id=?", (run_id,))]
        return run

    def runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, pipeline, stack, status, started, ended, error FROM runs ORDER BY started DESC")
        return [dict(row) for row in rows]


def stacks_with_runs() -> list[str]:
    folder = home.home() / "metadata"
    return sorted(p.stem for p in folder.glob("*.db")) if folder.is_dir() else []
