"""The metadata store: runs, steps, artifacts and lineage in SQLite, one file per stack.

Only the orchestrating process writes; WAL with synchronous=NORMAL keeps a step's
bookkeeping well under a millisecond while staying crash-safe. A run records its owner
(host, PID, process start time), so a run whose process was killed reads as ``aborted``.
Secret parameters and metadata values are stored masked.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zenprovision import home
from zenprovision.errors import CorruptFileError, InputError, NotFoundError
from zenprovision.runtime import owner
from zenprovision.stacks.names import is_stack_name, validate_stack_name
from zenprovision.stacks.secrets import mask_secrets

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
# Columns added after the first release: older databases get them on open.
ADDED_RUN_COLUMNS = {"owner_host": "TEXT", "owner_pid": "INTEGER", "owner_started": "REAL", "resumed_by": "TEXT",
                     "owner_boot": "REAL"}
ADDED_STEP_COLUMNS = {"run_metadata": "TEXT DEFAULT '{}'"}  # what the step logged for its run: a cache hit logs it again
# The step columns a status change may set besides its status (they name SQL columns).
STEP_FIELDS = frozenset({"started", "ended", "error", "attempts", "cache_key", "cached_from", "metadata",
                         "run_metadata"})
JSON_STEP_FIELDS = ("metadata", "run_metadata")
LOGGED = "s.metadata AS logged_metadata, s.run_metadata AS logged_run_metadata"  # what a reused step logged
RUN_COLUMNS = "id, pipeline, stack, status, started, ended, error, resumed_from, resumed_by, owner_host, owner_pid, " \
              "owner_started, owner_boot"


def db_path(stack: str) -> Path:
    return home.home() / "metadata" / f"{validate_stack_name(stack)}.db"


# OperationalErrors that mean the file is not the database we wrote (a table or column missing),
# not a busy one: reported as damage too.
_NOT_OURS = ("no such table", "no such column", "has no column named")


@contextlib.contextmanager
def _readable(path: Path) -> Iterator[None]:
    """A damaged database file becomes one line naming it and how to move it aside."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if not any(words in str(exc) for words in _NOT_OURS):
            raise  # locked or busy: not damage
        raise _damaged(path, exc) from exc
    except (sqlite3.DatabaseError, IsADirectoryError, KeyError, ValueError) as exc:  # ValueError: a row's JSON
        raise _damaged(path, exc) from exc


def _damaged(path: Path, exc: Exception) -> CorruptFileError:
    problem = str(exc) if isinstance(exc, sqlite3.DatabaseError) else f"{type(exc).__name__}: {exc}"
    return CorruptFileError(
        f"metadata database {path} is damaged ({problem.splitlines()[0] if problem else type(exc).__name__})",
        hint=f"move it aside to start a fresh one: mv {path} {path}.damaged (other stacks' runs are unaffected)",
    )


def _add_column(db: sqlite3.Connection, table: str, column: str, kind: str) -> None:
    """Two processes that open an older database at once both see the column missing: one adds it."""
    try:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    except sqlite3.OperationalError as exc:
        if "duplicate column name" not in str(exc):
            raise


class MetadataStore:
    """``create=False`` opens an existing database only: reading never creates one."""

    def __init__(self, stack: str, create: bool = True) -> None:
        self.path = db_path(stack)
        if not create and not self.path.exists():
            raise NotFoundError(f"stack {stack!r} has no runs", hint="see `provision runs`")
        home.private_dir(self.path.parent)  # the folder 0700 and the database 0600 whatever the umask
        with _readable(self.path):
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite gives its -wal and -shm this mode
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            for table, added in (("runs", ADDED_RUN_COLUMNS), ("steps", ADDED_STEP_COLUMNS)):
                present = {row["name"] for row in self.db.execute(f"PRAGMA table_info({table})")}
                for column, kind in added.items():
                    if column not in present:
                        _add_column(self.db, table, column, kind)

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything recorded inside is one commit: a step's bookkeeping costs one, and lands whole or not at all."""
        if self.db.in_transaction:  # nested: the outer one commits
            yield
            return
        try:  # BEGIN inside: a Ctrl-C just after it still rolls back, not leaves the write lock held
            self.db.execute("BEGIN IMMEDIATE")
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back itself (a full disk): not a second error
                self.db.execute("ROLLBACK")
            raise

    def start_run(self, run_id: str, pipeline: str, file: str, stack: str, params: dict, resumed_from: str | None,
                  secret_params: frozenset[str] = frozenset()) -> None:
        host, pid, started, boot = owner.current()
        stored = json.dumps(mask_secrets(params, secret_params), default=repr)
        with _readable(self.path):  # the run's first write: a database missing a column is named here
            self.db.execute(
                "INSERT INTO runs (id, pipeline, file, stack, status, params, started, resumed_from, owner_host, "
                "owner_pid, owner_started, owner_boot) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, pipeline, file, stack, "running", stored, time.time(), resumed_from, host, pid, started,
                 boot),
            )

    def end_run(self, run_id: str, status: str, error: str | None = None) -> None:
        """Only a run still ``running`` ends: one aborted by ``destroy --force`` stays aborted."""
        with self.transaction():
            self.db.execute("UPDATE runs SET status=?, ended=?, error=? WHERE id=? AND status='running'",
                            (status, time.time(), error, run_id))
            self.db.execute("UPDATE steps SET status='aborted', ended=? WHERE run_id=? AND status IN "
                            "('running', 'pending')", (time.time(), run_id))

    def status(self, run_id: str) -> str:
        row = self.db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        return row["status"] if row else ""

    def resuming(self, old: str, new: str) -> None:
        """Mark ``old`` as resumed by ``new``, in one transaction: of two resumes at once, one wins.

        A run whose process still lives, one that succeeded, or one already resumed is refused.
        """
        with self.transaction():
            run = self.run(old)
            if run["status"] == "running":
                raise InputError(f"run {old} is still running (PID {run['owner_pid']} on {run['owner_host']})",
                                 hint="wait for it to finish, or stop it, before resuming it")
            if run["status"] == "succeeded":
                raise InputError(f"run {old} succeeded: there is nothing to resume",
                                 hint="run the pipeline again without --resume (unchanged steps come from the cache)")
            if run.get("resumed_by"):
                raise InputError(f"run {old} was already resumed by run {run['resumed_by']}",
                                 hint=f"resume that one instead: --resume {run['resumed_by']}")
            self.end_run(old, "aborted", run["error"] or "its process ended without finishing the run")
            self.db.execute("UPDATE runs SET resumed_by=? WHERE id=?", (new, old))

    def add_run_metadata(self, run_id: str, values: dict[str, Any]) -> None:
        row = self.db.execute("SELECT metadata FROM runs WHERE id=?", (run_id,)).fetchone()
        merged = {**json.loads(row["metadata"] or "{}"), **mask_secrets(values)}
        self.db.execute("UPDATE runs SET metadata=? WHERE id=?", (json.dumps(merged, default=repr), run_id))

    def step_status(self, run_id: str, node_id: str, step: str, status: str, **fields: Any) -> None:
        """One statement: insert the step, or update its status and ``fields`` (names from STEP_FIELDS)."""
        now = time.time()
        if status in ("succeeded", "failed", "cached", "skipped", "aborted"):
            fields["ended"] = now
        unknown = set(fields) - STEP_FIELDS
        if unknown:
            raise ValueError(f"not a step column: {sorted(unknown)}")
        for name in JSON_STEP_FIELDS:
            if name in fields:
                fields[name] = json.dumps(mask_secrets(fields[name]), default=repr)
        columns = ["run_id", "node_id", "step", "status", "started", *(k for k in fields if k != "started")]
        values = [run_id, node_id, step, status, fields.get("started", now),
                  *(v for k, v in fields.items() if k != "started")]
        updates = ", ".join(f"{c}=excluded.{c}" for c in ["status", *fields])
        self.db.execute(
            f"INSERT INTO steps ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT(run_id, node_id) DO UPDATE SET {updates}",
            values,
        )

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
            f"SELECT a.*, s.run_id AS source_run, {LOGGED} FROM steps s JOIN artifacts a "
            "ON a.run_id = s.run_id AND a.node_id = s.node_id "
            "WHERE s.cache_key=? AND s.status IN ('succeeded') ORDER BY s.ended DESC LIMIT 1",
            (cache_key,),
        ).fetchone()
        return self._reusable(row) if row else None

    def step_outputs(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Artifacts of the steps that succeeded (or were cached) in a run, by node."""
        rows = self.db.execute(
            f"SELECT a.*, s.cache_key AS cache_key, {LOGGED} FROM artifacts a JOIN steps s "
            "ON a.run_id = s.run_id AND a.node_id = s.node_id "
            "WHERE a.run_id=? AND s.status IN ('succeeded', 'cached')", (run_id,),
        ).fetchall()
        return {row["node_id"]: self._reusable(row) for row in rows}

    def _reusable(self, row: sqlite3.Row) -> dict[str, Any]:
        """An output to reuse, with what its step logged: ``logged`` holds its metadata and run metadata."""
        found = dict(row)
        with _readable(self.path):  # a torn JSON cell is damage, named as such
            found["logged"] = {name: json.loads(found.pop(f"logged_{name}") or "{}") for name in JSON_STEP_FIELDS}
        return found

    def run(self, run_id: str) -> dict[str, Any]:
        with _readable(self.path):
            row = self.db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run {run_id!r}", hint="see `provision runs`")
            run = _as_seen(dict(row))
            run["params"] = json.loads(run["params"] or "{}")
            run["metadata"] = json.loads(run["metadata"] or "{}")
            gone = run["status"] != "running" and row["status"] == "running"
            run["steps"] = [
                {**dict(s), **{name: json.loads(s[name] or "{}") for name in JSON_STEP_FIELDS},
                 **({"status": "aborted"} if gone and s["status"] in ("running", "pending") else {})}
                for s in self.db.execute("SELECT * FROM steps WHERE run_id=? ORDER BY started", (run_id,))
            ]
            run["artifacts"] = [dict(a) for a in self.db.execute("SELECT * FROM artifacts WHERE run_id=?", (run_id,))]
            run["lineage"] = [dict(x) for x in self.db.execute("SELECT * FROM lineage WHERE run_id=?", (run_id,))]
        return run

    def runs(self) -> list[dict[str, Any]]:
        """Every run, newest first, as a reader sees it (a run whose process is gone is aborted)."""
        return self._run_rows("ORDER BY started DESC")

    def _run_rows(self, clause: str) -> list[dict[str, Any]]:
        with _readable(self.path):
            rows = self.db.execute(f"SELECT {RUN_COLUMNS} FROM runs {clause}").fetchall()
        return [_as_seen(dict(row)) for row in rows]


def _as_seen(run: dict[str, Any]) -> dict[str, Any]:
    """A ``running`` run whose owner process is gone is shown ``aborted``; a resumed one names its successor."""
    if run["status"] == "running" and owner.gone(run["owner_host"], run["owner_pid"], run["owner_started"],
                                                run.get("owner_boot")):
        run["status"] = "aborted"
        run["error"] = run["error"] or f"its process (PID {run['owner_pid']}) ended without finishing the run"
    if run.get("resumed_by"):
        run["status"] = f"resumed-by {run['resumed_by']}"
    return run


def stacks_with_runs() -> list[str]:
    """Stacks with a database; a file whose name is no stack name (a copy, ``dev_backup.db``) is not ours."""
    folder = home.home() / "metadata"
    return sorted(p.stem for p in folder.glob("*.db") if is_stack_name(p.stem)) if folder.is_dir() else []
