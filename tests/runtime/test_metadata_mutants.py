"""The metadata store, as mutation testing showed it needs pinning down: what a run, its steps, artifacts and
lineage read back as; which run is resumable; the cache lookup's choice; a run whose process is gone; a damaged
database. All on the store itself, in this process: a run's owner that is gone is a PID recorded as another
process's (a child that has exited), never a clock.

Mutants left alive are equivalent: the case of SQL keywords, tables and columns (SQLite ignores it) and of
``sqlite3.Row`` keys (looked up ignoring case); the fallback error in ``resuming`` (a run it ends was read as
gone, which already set its error); ``is_dir() or True`` in ``stacks_with_runs`` (a missing folder globs nothing)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest

from zenprovision.errors import CorruptFileError, InputError, NotFoundError
from zenprovision.runtime import metadata, owner
from zenprovision.runtime.metadata import MetadataStore, stacks_with_runs

ARTIFACT = {"uri": "file:///a/runs/r1/.train.meta.json", "relpath": "runs/r1/.train.meta.json", "hash": "ab12",
            "materializer": "json", "type": "builtins.dict", "size": 17}


@pytest.fixture
def store(home):
    opened = MetadataStore("dev")
    yield opened
    opened.close()


def a_gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------- the database file


def test_the_database_is_one_private_file_per_stack_under_the_home(home):
    old = os.umask(0o022)
    try:
        MetadataStore("dev").close()
    finally:
        os.umask(old)
    path = home / "metadata" / "dev.db"
    assert metadata.db_path("dev") == path
    assert mode_of(path) == 0o600 and mode_of(path.parent) == 0o700


def test_a_bad_stack_name_opens_no_database(home):
    with pytest.raises(InputError):
        metadata.db_path("../other")


def test_reading_a_stack_without_runs_creates_nothing(home):
    with pytest.raises(NotFoundError) as caught:
        MetadataStore("dev", create=False)
    assert caught.value.message == "stack 'dev' has no runs"
    assert caught.value.hint == "see `provision runs`"
    assert not (home / "metadata" / "dev.db").exists()
    MetadataStore("dev").close()
    MetadataStore("dev", create=False).close()  # once there, it opens


def test_the_database_is_in_wal_mode_with_normal_sync(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store.db.isolation_level is None  # autocommit outside ``transaction``


def test_a_busy_database_waits_for_the_writer_rather_than_failing_at_once(home, monkeypatch):
    timeouts = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(metadata.sqlite3, "connect", lambda *a, **kw: timeouts.append(kw.get("timeout"))
                        or real_connect(*a, **kw))
    MetadataStore("dev").close()
    assert timeouts == [10]


def test_a_database_of_an_earlier_version_gets_the_new_run_columns(home):
    path = home / "metadata" / "dev.db"
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript(metadata.SCHEMA)
    old.execute("INSERT INTO runs (id, pipeline, stack, status, started) VALUES ('r0', 'p', 'dev', 'failed', 1.0)")
    old.execute("INSERT INTO steps (run_id, node_id, step, status, started) VALUES ('r0', 'a', 'a', 'failed', 1.0)")
    old.commit()
    old.close()
    store = MetadataStore("dev")
    columns = {row["name"] for row in store.db.execute("PRAGMA table_info(runs)")}
    assert set(metadata.ADDED_RUN_COLUMNS) <= columns
    step_columns = {row["name"] for row in store.db.execute("PRAGMA table_info(steps)")}
    assert set(metadata.ADDED_STEP_COLUMNS) <= step_columns
    assert store.run("r0")["status"] == "failed"
    assert store.run("r0")["steps"][0]["run_metadata"] == {}  # an earlier step logged nothing for its run
    assert [r["id"] for r in store.runs()] == ["r0"]
    store.close()
    MetadataStore("dev").close()  # opened again: nothing added twice


def test_a_damaged_database_is_one_error_naming_the_file_and_how_to_move_it_aside(home):
    path = home / "metadata" / "dev.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, but long enough to be read as one" * 20)
    with pytest.raises(CorruptFileError) as caught:
        MetadataStore("dev")
    assert caught.value.message.startswith(f"metadata database {path} is damaged (")
    assert caught.value.hint == f"move it aside to start a fresh one: mv {path} {path}.damaged " \
                                "(other stacks' runs are unaffected)"
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_a_locked_database_is_not_reported_as_damaged(home):
    with pytest.raises(sqlite3.OperationalError):
        with metadata._readable(home / "x.db"):
            raise sqlite3.OperationalError("database is locked")
    with pytest.raises(CorruptFileError):
        with metadata._readable(home / "x.db"):
            raise sqlite3.DatabaseError("file is not a database")


# ---------------------------------------------------------------- transactions


def test_a_transaction_commits_everything_or_nothing(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.step_status("r1", "a", "a", "running")
            raise RuntimeError("boom")
    assert store.run("r1")["steps"] == []
    assert not store.db.in_transaction
    with store.transaction():
        store.step_status("r1", "a", "a", "running")
        assert store.db.in_transaction
    assert [s["node_id"] for s in store.run("r1")["steps"]] == ["a"]
    assert not store.db.in_transaction


def test_a_nested_transaction_is_part_of_the_outer_one(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    with pytest.raises(RuntimeError):
        with store.transaction():
            with store.transaction():
                store.step_status("r1", "a", "a", "running")
            assert store.db.in_transaction  # the inner one committed nothing
            raise RuntimeError("boom")
    assert store.run("r1")["steps"] == []


def test_a_transaction_that_sqlite_rolled_back_itself_raises_the_first_error_only(store):
    with pytest.raises(RuntimeError, match="disk full"):
        with store.transaction():
            store.db.execute("ROLLBACK")  # as SQLite does on a full disk
            raise RuntimeError("disk full")
    assert not store.db.in_transaction


def test_a_transaction_takes_the_write_lock_at_once(store, home):
    """BEGIN IMMEDIATE: a second writer waits at its BEGIN, never fails halfway through its writes."""
    other = sqlite3.connect(home / "metadata" / "dev.db", isolation_level=None, timeout=0)
    try:
        with store.transaction():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


# ---------------------------------------------------------------- runs


def test_a_started_run_reads_back_with_its_owner_and_masked_secrets(store):
    before = time.time()
    store.start_run("r1", "train", "pipe.py", "dev", {"n": 3, "token": "hunter2", "key": "k1"}, "r0",
                    secret_params=frozenset({"key"}))
    run = store.run("r1")
    host, pid, started, boot = owner.current()
    assert (run["id"], run["pipeline"], run["file"], run["stack"], run["status"]) == \
        ("r1", "train", "pipe.py", "dev", "running")
    assert run["params"] == {"n": 3, "token": "[secret]", "key": "[secret]"}
    assert run["resumed_from"] == "r0"
    assert (run["owner_host"], run["owner_pid"]) == (host, pid)
    assert run["owner_started"] == pytest.approx(started) and run["owner_boot"] == pytest.approx(boot)
    assert before <= run["started"] <= time.time()
    assert run["ended"] is None and run["error"] is None
    assert run["metadata"] == {} and run["steps"] == [] and run["artifacts"] == [] and run["lineage"] == []
    assert store.status("r1") == "running"


def test_params_that_json_cannot_hold_are_stored_as_their_repr(store):
    store.start_run("r1", "p", "f.py", "dev", {"when": {1, 2}}, None)
    assert store.run("r1")["params"] == {"when": "{1, 2}"}


def test_an_unknown_run_is_not_found_and_has_no_status(store):
    with pytest.raises(NotFoundError) as caught:
        store.run("nope")
    assert caught.value.message == "no run 'nope'" and caught.value.hint == "see `provision runs`"
    assert store.status("nope") == ""


def test_ending_a_run_ends_its_unfinished_steps_as_aborted(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.step_status("r1", "done", "done", "succeeded")
    store.step_status("r1", "busy", "busy", "running")
    store.step_status("r1", "next", "next", "pending")
    store.step_status("r1", "bad", "bad", "failed", error="ValueError: x")
    before = time.time()
    store.end_run("r1", "failed", "step 'bad' failed")
    run = store.run("r1")
    assert (run["status"], run["error"]) == ("failed", "step 'bad' failed")
    assert before <= run["ended"] <= time.time()
    steps = {s["node_id"]: s for s in run["steps"]}
    assert {n: s["status"] for n, s in steps.items()} == \
        {"done": "succeeded", "busy": "aborted", "next": "aborted", "bad": "failed"}
    assert before <= steps["busy"]["ended"] and before <= steps["next"]["ended"]
    assert steps["done"]["ended"] < before


def test_a_run_that_already_ended_keeps_its_end(store):
    """``destroy --force`` aborted it: the run's own end, later, does not overwrite that."""
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.end_run("r1", "aborted", "the stack is being destroyed")
    ended = store.run("r1")["ended"]
    store.end_run("r1", "succeeded")
    run = store.run("r1")
    assert (run["status"], run["error"], run["ended"]) == ("aborted", "the stack is being destroyed", ended)


def test_run_metadata_merges_and_is_masked(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.add_run_metadata("r1", {"accuracy": 0.9, "api_token": "abc"})
    store.add_run_metadata("r1", {"accuracy": 0.95, "rows": 150, "when": {1}})
    assert store.run("r1")["metadata"] == {"accuracy": 0.95, "api_token": "[secret]", "rows": 150, "when": "{1}"}


def test_runs_are_listed_newest_first_as_a_reader_sees_them(store, monkeypatch):
    clock = iter([100.0, 300.0, 200.0])
    monkeypatch.setattr(metadata.time, "time", lambda: next(clock))
    for run_id in ("old", "new", "middle"):
        store.start_run(run_id, "p", "f.py", "dev", {}, None)
    listed = store.runs()
    assert [r["id"] for r in listed] == ["new", "middle", "old"]
    assert set(listed[0]) == {c.strip() for c in metadata.RUN_COLUMNS.split(",")}
    assert all(r["status"] == "running" for r in listed)  # their owner, this process, lives


def test_stacks_with_runs_are_the_databases_under_the_home(home):
    assert stacks_with_runs() == []
    for name in ("prod", "dev"):
        MetadataStore(name).close()
    (home / "metadata" / "notes.txt").write_text("not a database")
    assert stacks_with_runs() == ["dev", "prod"]


# ---------------------------------------------------------------- a run whose process is gone


def started_by_a_gone_process(store, run_id: str = "r1") -> int:
    store.start_run(run_id, "p", "f.py", "dev", {}, None)
    pid = a_gone_pid()
    store.db.execute("UPDATE runs SET owner_pid=? WHERE id=?", (pid, run_id))
    return pid


def test_a_running_run_whose_process_is_gone_reads_as_aborted_with_its_unfinished_steps(store):
    pid = started_by_a_gone_process(store)
    store.step_status("r1", "done", "done", "succeeded")
    store.step_status("r1", "busy", "busy", "running")
    store.step_status("r1", "next", "next", "pending")
    run = store.run("r1")
    assert run["status"] == "aborted"
    assert run["error"] == f"its process (PID {pid}) ended without finishing the run"
    assert {s["node_id"]: s["status"] for s in run["steps"]} == \
        {"done": "succeeded", "busy": "aborted", "next": "aborted"}
    listed, = store.runs()
    assert (listed["status"], listed["error"]) == ("aborted", run["error"])
    assert store.status("r1") == "running"  # as recorded: only a reader's view changes


def test_a_gone_run_keeps_the_error_it_recorded(store):
    started_by_a_gone_process(store)
    store.db.execute("UPDATE runs SET error='step x failed' WHERE id='r1'")
    assert store.run("r1")["error"] == "step x failed"


def test_a_finished_run_of_a_gone_process_is_shown_as_it_ended(store):
    started_by_a_gone_process(store)
    store.step_status("r1", "a", "a", "succeeded")
    store.end_run("r1", "succeeded")
    run = store.run("r1")
    assert (run["status"], run["error"]) == ("succeeded", None)


def test_the_steps_of_a_live_run_are_shown_as_recorded(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.step_status("r1", "busy", "busy", "running")
    store.step_status("r1", "next", "next", "pending")
    assert [s["status"] for s in store.run("r1")["steps"]] == ["running", "pending"]


# ---------------------------------------------------------------- resuming


def test_resuming_a_gone_run_ends_it_as_aborted_and_names_its_successor(store):
    pid = started_by_a_gone_process(store, "old")
    store.step_status("old", "busy", "busy", "running")
    store.resuming("old", "new")
    row = store.db.execute("SELECT status, error, resumed_by FROM runs WHERE id='old'").fetchone()
    assert tuple(row) == ("aborted", f"its process (PID {pid}) ended without finishing the run", "new")
    run = store.run("old")
    assert run["status"] == "resumed-by new" and run["resumed_by"] == "new"
    assert run["steps"][0]["status"] == "aborted"
    assert store.runs()[0]["status"] == "resumed-by new"


def test_resuming_a_failed_run_keeps_its_error(store):
    store.start_run("old", "p", "f.py", "dev", {}, None)
    store.end_run("old", "failed", "step 'a' failed")
    store.resuming("old", "new")
    row = store.db.execute("SELECT status, error FROM runs WHERE id='old'").fetchone()
    assert tuple(row) == ("failed", "step 'a' failed")  # only a running run is ended


def test_a_running_run_is_not_resumed(store):
    store.start_run("old", "p", "f.py", "dev", {}, None)
    with pytest.raises(InputError) as caught:
        store.resuming("old", "new")
    host, pid = owner.hostname(), os.getpid()
    assert caught.value.message == f"run old is still running (PID {pid} on {host})"
    assert caught.value.hint == "wait for it to finish, or stop it, before resuming it"
    assert store.run("old")["resumed_by"] is None and store.status("old") == "running"


def test_a_succeeded_run_is_not_resumed(store):
    store.start_run("old", "p", "f.py", "dev", {}, None)
    store.end_run("old", "succeeded")
    with pytest.raises(InputError) as caught:
        store.resuming("old", "new")
    assert caught.value.message == "run old succeeded: there is nothing to resume"
    assert caught.value.hint == \
        "run the pipeline again without --resume (unchanged steps come from the cache)"
    assert store.run("old")["resumed_by"] is None


def test_a_run_is_resumed_once(store):
    store.start_run("old", "p", "f.py", "dev", {}, None)
    store.end_run("old", "failed", "x")
    store.resuming("old", "first")
    with pytest.raises(InputError) as caught:
        store.resuming("old", "second")
    assert caught.value.message == "run old was already resumed by run first"
    assert caught.value.hint == "resume that one instead: --resume first"
    assert store.run("old")["resumed_by"] == "first"


def test_an_unknown_run_is_not_resumed(store):
    with pytest.raises(NotFoundError):
        store.resuming("nope", "new")
    assert not store.db.in_transaction


# ---------------------------------------------------------------- steps


def test_a_step_is_inserted_then_updated_in_place(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    before = time.time()
    store.step_status("r1", "train", "train_step", "running", attempts=1, cache_key="k1")
    step, = store.run("r1")["steps"]
    assert (step["run_id"], step["node_id"], step["step"], step["status"]) == ("r1", "train", "train_step", "running")
    assert (step["attempts"], step["cache_key"], step["cached_from"], step["error"]) == (1, "k1", None, None)
    assert before <= step["started"] <= time.time() and step["ended"] is None
    started = step["started"]
    store.step_status("r1", "train", "train_step", "failed", attempts=2, error="ValueError: x",
                      metadata={"loss": 1.5, "password": "p"})
    step, = store.run("r1")["steps"]
    assert (step["status"], step["attempts"], step["error"], step["cache_key"]) == \
        ("failed", 2, "ValueError: x", "k1")
    assert step["started"] == started  # an update keeps when it started
    assert step["ended"] >= started
    assert step["metadata"] == {"loss": 1.5, "password": "[secret]"}


def test_a_step_given_its_start_keeps_it(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.step_status("r1", "a", "a", "running", started=42.0)
    store.step_status("r1", "a", "a", "running", started=43.0)
    step, = store.run("r1")["steps"]
    assert step["started"] == 43.0 and step["ended"] is None


@pytest.mark.parametrize("status", ["succeeded", "failed", "cached", "skipped", "aborted"])
def test_a_step_in_an_end_status_has_ended(store, status):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    before = time.time()
    store.step_status("r1", "a", "a", status)
    step, = store.run("r1")["steps"]
    assert step["status"] == status and before <= step["ended"] <= time.time()


@pytest.mark.parametrize("status", ["running", "pending", "retrying"])
def test_a_step_not_in_an_end_status_has_not_ended(store, status):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.step_status("r1", "a", "a", status)
    assert store.run("r1")["steps"][0]["ended"] is None


def test_a_field_that_is_no_step_column_is_refused(store):
    with pytest.raises(ValueError) as caught:
        store.step_status("r1", "a", "a", "running", owner="me", attempts=1, color="red")
    assert str(caught.value) == "not a step column: ['color', 'owner']"
    assert store.db.execute("SELECT count(*) FROM steps").fetchone()[0] == 0


def test_step_metadata_that_json_cannot_hold_is_stored_as_its_repr(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.step_status("r1", "a", "a", "succeeded", metadata={"classes": {3}})
    assert store.run("r1")["steps"][0]["metadata"] == {"classes": "{3}"}


def test_steps_are_listed_in_the_order_they_started(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    for node, started in (("c", 3.0), ("a", 1.0), ("b", 2.0)):
        store.step_status("r1", node, node, "running", started=started)
    assert [s["node_id"] for s in store.run("r1")["steps"]] == ["a", "b", "c"]


def test_a_steps_metadata_defaults_to_empty(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.step_status("r1", "a", "a", "running")
    assert store.run("r1")["steps"][0]["metadata"] == {}


# ---------------------------------------------------------------- artifacts, lineage, the cache


def test_artifacts_and_lineage_read_back_with_their_run(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    first = store.add_artifact("r1", "load", "output", ARTIFACT)
    second = store.add_artifact("r1", "train", "output", {**ARTIFACT, "relpath": "runs/r1/.train2.meta.json"})
    assert second == first + 1
    store.add_lineage("r1", "train", {"data": first, "extra": second})
    run = store.run("r1")
    artifact = run["artifacts"][0]
    assert artifact == {"id": first, "run_id": "r1", "node_id": "load", "name": "output", **ARTIFACT}
    assert run["lineage"] == [{"run_id": "r1", "node_id": "train", "input": "data", "artifact_id": first},
                              {"run_id": "r1", "node_id": "train", "input": "extra", "artifact_id": second}]


def test_a_run_reads_only_its_own_steps_artifacts_and_lineage(store):
    for run_id in ("r1", "r2"):
        store.start_run(run_id, "p", "f.py", "dev", {}, None)
        store.step_status(run_id, "a", "a", "succeeded")
        artifact = store.add_artifact(run_id, "a", "output", ARTIFACT)
        store.add_lineage(run_id, "b", {"x": artifact})
    run = store.run("r2")
    assert [s["run_id"] for s in run["steps"]] == ["r2"]
    assert [a["run_id"] for a in run["artifacts"]] == ["r2"]
    assert [x["run_id"] for x in run["lineage"]] == ["r2"]


def a_step_with_output(store, run_id, node, status, key, ended):
    store.start_run(run_id, "p", "f.py", "dev", {}, None) if not store.status(run_id) else None
    store.step_status(run_id, node, node, status, cache_key=key)
    store.db.execute("UPDATE steps SET ended=? WHERE run_id=? AND node_id=?", (ended, run_id, node))
    return store.add_artifact(run_id, node, "output", {**ARTIFACT, "relpath": f"runs/{run_id}/.{node}.meta.json"})


def test_the_cache_gives_the_newest_output_of_a_succeeded_step_with_the_key(store):
    a_step_with_output(store, "r1", "train", "succeeded", "k1", 100.0)
    newest = a_step_with_output(store, "r2", "train", "succeeded", "k1", 300.0)
    a_step_with_output(store, "r3", "train", "succeeded", "k1", 200.0)
    a_step_with_output(store, "r4", "train", "failed", "k1", 400.0)
    a_step_with_output(store, "r5", "train", "cached", "k1", 500.0)  # a cached step's output is another's
    a_step_with_output(store, "r6", "train", "succeeded", "k2", 600.0)
    hit = store.cached_output("k1")
    assert hit["id"] == newest and hit["source_run"] == "r2" and hit["run_id"] == "r2"
    assert hit["relpath"] == "runs/r2/.train.meta.json" and hit["hash"] == ARTIFACT["hash"]
    assert store.cached_output("k3") is None


def test_the_cache_matches_a_steps_artifact_by_its_node(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    a_step_with_output(store, "r1", "train", "failed", "k1", 100.0)
    a_step_with_output(store, "r1", "other", "succeeded", "k2", 100.0)
    assert store.cached_output("k1") is None


def test_a_runs_step_outputs_are_those_of_steps_that_succeeded_or_were_cached(store):
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    done = a_step_with_output(store, "r1", "load", "succeeded", "k1", 1.0)
    cached = a_step_with_output(store, "r1", "prep", "cached", "k2", 1.0)
    a_step_with_output(store, "r1", "train", "failed", "k3", 1.0)
    a_step_with_output(store, "r2", "load", "succeeded", "k1", 1.0)
    outputs = store.step_outputs("r1")
    assert set(outputs) == {"load", "prep"}
    assert outputs["load"]["id"] == done and outputs["load"]["cache_key"] == "k1"
    assert outputs["prep"]["id"] == cached and outputs["prep"]["cache_key"] == "k2"
    assert outputs["load"]["run_id"] == "r1"


def test_a_reused_output_carries_what_its_step_logged_and_a_torn_record_is_damage(store):
    a_step_with_output(store, "r1", "train", "succeeded", "k1", 1.0)
    assert store.cached_output("k1")["logged"] == {"metadata": {}, "run_metadata": {}}
    store.step_status("r1", "train", "train", "succeeded", metadata={"rows": 3}, run_metadata={"accuracy": 0.9})
    assert store.cached_output("k1")["logged"] == {"metadata": {"rows": 3}, "run_metadata": {"accuracy": 0.9}}
    assert store.step_outputs("r1")["train"]["logged"] == {"metadata": {"rows": 3}, "run_metadata": {"accuracy": 0.9}}
    store.db.execute("UPDATE steps SET run_metadata='{torn' WHERE run_id='r1'")
    with pytest.raises(CorruptFileError, match="is damaged"):
        store.cached_output("k1")


class Damaged:
    """A database connection whose file turned out damaged after it was opened."""

    in_transaction = False

    def close(self) -> None:
        pass

    def execute(self, *args):
        raise sqlite3.DatabaseError("database disk image is malformed")


def test_a_database_damaged_after_opening_is_one_error_naming_it_when_read(store):
    store.db.close()
    path, store.db = store.path, Damaged()
    for read in (store.runs, lambda: store.run("r1")):
        with pytest.raises(CorruptFileError) as caught:
            read()
        assert caught.value.message == f"metadata database {path} is damaged (database disk image is malformed)"


def test_metadata_columns_left_empty_read_as_no_metadata(store):
    """A row written without metadata (by hand, or a tool writing the database): no metadata, not an error."""
    store.start_run("r1", "p", "f.py", "dev", {}, None)
    store.step_status("r1", "a", "a", "succeeded")
    store.db.execute("UPDATE runs SET metadata=NULL WHERE id='r1'")
    store.db.execute("UPDATE steps SET metadata='' WHERE run_id='r1'")
    run = store.run("r1")
    assert run["metadata"] == {} and run["steps"][0]["metadata"] == {}
    store.add_run_metadata("r1", {"rows": 3})
    assert store.run("r1")["metadata"] == {"rows": 3}


def _older_database(path) -> None:
    """A database as an earlier version left it: WAL, without the step column added since."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript(metadata.SCHEMA)
    old.commit()
    old.close()


def test_two_processes_opening_an_older_database_at_once_both_open_it(home):
    """Both see the column missing; the second ALTER TABLE failed with 'duplicate column name'."""
    path = home / "metadata" / "dev.db"
    failures = []
    for _ in range(5):
        for leftover in path.parent.glob("dev.db*"):
            leftover.unlink()
        _older_database(path)
        start = threading.Barrier(6)

        def open_store(start: threading.Barrier = start) -> None:
            start.wait()
            try:
                MetadataStore("dev").close()
            except Exception as exc:  # noqa: BLE001 - collected, asserted below
                failures.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_a_column_already_added_is_no_error_and_another_failure_still_is(home):
    db = sqlite3.connect(":memory:")
    db.executescript(metadata.SCHEMA)
    metadata._add_column(db, "steps", "run_metadata", "TEXT")
    metadata._add_column(db, "steps", "run_metadata", "TEXT")  # another process was first
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        metadata._add_column(db, "absent", "x", "TEXT")
