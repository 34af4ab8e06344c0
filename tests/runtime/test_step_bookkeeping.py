"""A step's bookkeeping in the metadata store: one commit when it finishes (with the start of the steps it made
ready), whole or not at all."""

import sqlite3

import pytest

from zenprovision.runtime import metadata
from zenprovision.runtime.metadata import MetadataStore

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.fixture
def commits(monkeypatch) -> list[str]:
    """Every commit the run's metadata connections make: an explicit COMMIT, or a write outside one."""
    made: list[str] = []
    opened = MetadataStore.__init__

    def traced(self, *args, **kwargs):
        opened(self, *args, **kwargs)
        db = self.db

        def trace(statement: str) -> None:
            word = statement.lstrip().split(None, 1)[0].upper()
            if word == "COMMIT" or (word in WRITES and not db.in_transaction):
                made.append(statement)

        db.set_trace_callback(trace)

    monkeypatch.setattr(MetadataStore, "__init__", traced)
    return made


def test_a_step_costs_one_commit_whatever_it_records(local_stack, commits):
    from tests.runtime.pipelines.shapes import fanout

    fanout.run(stack=local_stack, cache=False, seconds=0)  # 6 steps
    six = len(commits)
    commits.clear()
    cached = fanout.run(stack=local_stack, seconds=0)  # every step from the cache: one commit each
    assert set(cached.steps.values()) == {"cached"}
    assert len(commits) <= 6 + 3  # start, end, metadata of the run
    assert 6 + 1 <= six <= 6 + 1 + 3  # each finish, and the start of the first step, which no finish made ready


def test_a_failed_commit_leaves_none_of_the_step_behind(home):
    store = MetadataStore("rt")
    store.start_run("r1", "p", "p.py", "rt", {}, None)
    with pytest.raises(sqlite3.IntegrityError), store.transaction():
        store.add_artifact("r1", "a", "output", {"uri": "file:///x", "relpath": "x", "hash": "h",
                                                 "materializer": "json", "type": "int", "size": 1})
        store.step_status("r1", "a", "a", "succeeded")
        store.db.execute("INSERT INTO runs (id) VALUES ('r1')")  # a duplicate key fails the commit's last write
    run = store.run("r1")
    assert run["artifacts"] == [] and run["steps"] == []


def test_a_step_status_names_only_step_columns(home):
    store = MetadataStore("rt")
    with pytest.raises(ValueError, match="not a step column"):
        store.step_status("r1", "a", "a", "running", **{"status=1; DROP TABLE runs; --": 1})
    assert metadata.STEP_FIELDS >= {"attempts", "cache_key", "metadata", "error"}


class _InterruptedAfter:
    """The store's connection, with a Ctrl-C arriving just after one statement of a transaction returns."""

    def __init__(self, db: sqlite3.Connection, statement: str) -> None:
        self._db, self._statement = db, statement

    def execute(self, sql: str, *args):
        cursor = self._db.execute(sql, *args)
        if sql == self._statement:
            raise KeyboardInterrupt
        return cursor

    def __getattr__(self, name: str):
        return getattr(self._db, name)


@pytest.mark.parametrize("statement", ["BEGIN IMMEDIATE", "COMMIT"])
def test_a_ctrl_c_at_a_transactions_edge_leaves_no_write_lock_held(home, statement):
    store = MetadataStore("rt")
    store.start_run("r1", "p", "p.py", "rt", {}, None)
    connection = store.db
    store.db = _InterruptedAfter(connection, statement)
    with pytest.raises(KeyboardInterrupt), store.transaction():
        store.step_status("r1", "a", "a", "running")
    assert not connection.in_transaction
    other = sqlite3.connect(store.path, timeout=0)  # a second command writes at once: no lock left behind
    other.execute("UPDATE runs SET status = 'failed' WHERE id = 'r1'")
    other.commit()
    other.close()


def test_a_transaction_sqlite_rolled_back_itself_reports_its_own_error(home):
    store = MetadataStore("rt")
    store.start_run("r1", "p", "p.py", "rt", {}, None)
    with pytest.raises(RuntimeError, match="disk is full"), store.transaction():
        store.db.execute("ROLLBACK")  # what SQLite does on SQLITE_FULL before the error reaches us
        raise RuntimeError("disk is full")
