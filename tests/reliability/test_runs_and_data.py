"""Runs and artifacts under kill -9, tampering and bad input (issue 12, items 5, 9, 10, 12, 13, 14, 15)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.runtime.conftest import make_stack
from zenprovision.errors import ArtifactStoreError, MaterializerError
from zenprovision.runtime.metadata import MetadataStore

SLOW_PIPELINE = """
import os, time
from pathlib import Path
from zenprovision import pipeline, step

@step
def first() -> int:
    return 1

@step
def wait(x: int) -> int:
    Path(os.environ["ZP_MARK"]).write_text(str(os.getpid()))
    while not Path(os.environ["ZP_MARK"] + ".go").exists():
        time.sleep(0.05)
    return x + 1

@pipeline
def slow():
    wait(first())
"""


@pytest.fixture
def stack(home) -> str:
    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    return "rt"


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def wait_for(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def one_line_error(result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


@pytest.mark.slow
def test_a_killed_run_reads_aborted_and_resume_marks_it(stack, cli, tmp_path, monkeypatch):
    mark = tmp_path / "mark"
    monkeypatch.setenv("ZP_MARK", str(mark))
    target = write(tmp_path, "slow.py", SLOW_PIPELINE)
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", target, "--stack", stack],
                            stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(mark.exists)
    os.killpg(proc.pid, signal.SIGKILL)  # the run's process and its workers, as a crash would
    proc.wait(30)
    listed = json.loads(cli("runs", "--stack", stack, "--json").out)
    assert [row["status"] for row in listed] == ["aborted"]
    assert listed[0]["owner_pid"] == proc.pid and listed[0]["owner_host"]
    killed = listed[0]["id"]
    shown = json.loads(cli("runs", "show", killed, "--json").out)
    assert {s["node_id"]: s["status"] for s in shown["steps"]} == {"first": "succeeded", "wait": "aborted"}

    Path(f"{mark}.go").write_text("")
    resumed = cli("run", target, "--stack", stack, "--resume", killed, "--json")
    assert resumed.code == 0, resumed.err
    new_id = json.loads(resumed.out)["run_id"]
    rows = {row["id"]: row["status"] for row in json.loads(cli("runs", "--stack", stack, "--json").out)}
    assert rows == {killed: f"resumed-by {new_id}", new_id: "succeeded"}


def test_a_run_whose_process_lives_is_running_and_cannot_be_resumed(stack):
    from zenprovision.errors import InputError

    meta = MetadataStore(stack)
    meta.start_run("r1", "p", "f.py", stack, {}, None)
    assert meta.runs()[0]["status"] == "running"  # this very process owns it
    with pytest.raises(InputError, match="still running"):
        meta.resuming("r1", "r2")
    meta.db.execute("UPDATE runs SET owner_started = owner_started - 100")  # the PID now names another process
    assert meta.runs()[0]["status"] == "aborted"


def test_pipeline_file_that_exits_at_import_is_not_success(stack, cli, tmp_path):
    target = write(tmp_path, "exits.py", "import sys\nsys.exit(0)\n")
    result = cli("run", target, "--stack", stack)
    assert result.code == 2
    assert "called sys.exit(0) while being imported" in one_line_error(result)


def test_runs_of_an_unknown_stack_exit_2_and_create_nothing(home, cli):
    result = cli("runs", "--stack", "nosuch")
    assert result.code == 2 and "no stack named 'nosuch'" in one_line_error(result)
    assert not (home / "metadata").exists()
    assert cli("runs", "--stack", "../x").code == 2


def test_a_known_stack_without_runs_lists_nothing_and_creates_nothing(stack, home, cli):
    result = cli("runs", "--stack", stack, "--json")
    assert result.code == 0 and json.loads(result.out) == []
    assert not (home / "metadata").exists()


def test_a_damaged_metadata_database_is_named_and_other_stacks_still_list(stack, home, cli):
    meta = MetadataStore(stack)
    meta.start_run("good-run", "p", "f.py", stack, {}, None)
    meta.end_run("good-run", "succeeded")
    meta.close()
    damaged = home / "metadata" / "broken.db"
    damaged.write_bytes(b"this is not a database" * 200)
    listed = cli("runs", "--json")
    assert listed.code == 0
    assert [row["id"] for row in json.loads(listed.out)] == ["good-run"]
    assert str(damaged) in listed.err and f"mv {damaged}" in listed.err
    alone = cli("runs", "--stack", "broken")
    assert alone.code == 2
    assert f"metadata database {damaged} is damaged" in one_line_error(alone)
    assert cli("runs", "show", "good-run").code == 0


def test_a_database_damaged_past_its_header_is_reported_too(stack, home):
    from zenprovision.errors import CorruptFileError

    meta = MetadataStore(stack)
    for index in range(300):
        meta.start_run(f"run-{index}", "p" * 200, "f.py", stack, {}, None)
    meta.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    meta.close()
    path = home / "metadata" / f"{stack}.db"
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page past the schema
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="mv "):
        MetadataStore(stack, create=False).runs()


def test_a_copy_of_a_database_under_another_name_does_not_break_the_listing(stack, home, cli):
    """`cp dev.db dev_backup.db` made `provision runs` fail for every stack: 'invalid stack name'."""
    meta = MetadataStore(stack)
    meta.start_run("good-run", "p", "f.py", stack, {}, None)
    meta.end_run("good-run", "succeeded")
    meta.close()
    for name in (f"{stack}_backup.db", f"{stack}.old.db", "Copy of rt.db"):
        (home / "metadata" / name).write_bytes((home / "metadata" / f"{stack}.db").read_bytes())
    listed = cli("runs", "--json")
    assert listed.code == 0, listed.err
    assert [row["id"] for row in json.loads(listed.out)] == ["good-run"]
    assert cli("runs", "show", "good-run").code == 0


def _drop_steps_table(db) -> None:
    db.execute("DROP TABLE steps")
    db.execute("CREATE TABLE steps (x)")


def _drop_params_column(db) -> None:
    db.execute("ALTER TABLE runs DROP COLUMN params")


def _torn_params(db) -> None:
    db.execute("UPDATE runs SET params='{\"torn'")


@pytest.mark.parametrize("damage", [_drop_steps_table, _drop_params_column, _torn_params, "folder"],
                         ids=["table-replaced", "column-gone", "torn-json", "folder"])
def test_a_database_whose_tables_or_rows_are_not_ours_is_named_like_any_damage(stack, home, cli, tmp_path, damage):
    """Not only a torn file: a missing table or column, a torn JSON row or a folder in its place is one line, exit 2."""
    good = MetadataStore(stack)
    good.start_run("good-run", "p", "f.py", stack, {}, None)
    good.end_run("good-run", "succeeded")
    good.close()
    make_stack("other", {"flavor": "local", "config": {"path": (home / "a2").as_uri()}})
    path = home / "metadata" / "other.db"
    if damage == "folder":
        path.mkdir(parents=True)
    else:
        meta = MetadataStore("other")
        meta.start_run("bad-run", "p", "f.py", "other", {"k": 1}, None)
        meta.close()
        with sqlite3.connect(path) as db:
            damage(db)
    listed = cli("runs", "--json")  # every other stack still lists
    assert listed.code == 0, listed.err
    assert "good-run" in [row["id"] for row in json.loads(listed.out)]
    shown = cli("runs", "show", "bad-run")
    assert shown.code == 2, shown.err
    assert f"metadata database {path} is damaged" in shown.err and f"mv {path} {path}.damaged" in shown.err
    alone = cli("runs", "--stack", "other")
    assert alone.code in (0, 2) and "Traceback" not in alone.err and "Error: OperationalError" not in alone.err
    if damage != _torn_params:  # a torn row does not keep new runs out
        target = write(tmp_path, "one.py", """
            from zenprovision import pipeline, step

            @step
            def one() -> int:
                return 1

            @pipeline
            def single():
                one()
        """)
        started = cli("run", target, "--stack", "other")
        assert started.code == 2 and f"metadata database {path} is damaged" in one_line_error(started), started.err
    assert cli("runs", "show", "good-run").code == 0


@pytest.mark.parametrize("declaration", ['@step(name="../../../../escaped")', '@pipeline(name="../x")'])
def test_names_that_leave_the_artifact_store_are_refused_where_declared(stack, home, cli, tmp_path, declaration):
    step_decorator, pipeline_decorator = ("@step", declaration) if "pipeline" in declaration else (declaration, "@pipeline")
    target = write(tmp_path, "names.py", f"""
        from zenprovision import pipeline, step

        {step_decorator}
        def make() -> int:
            return 1

        {pipeline_decorator}
        def p():
            make()
        """)
    result = cli("run", target, "--stack", stack)
    assert result.code == 2
    assert "invalid" in one_line_error(result) and "name '../" in result.err
    assert not list(tmp_path.rglob("escaped")) and not (home / "metadata").exists()


def test_every_artifact_path_stays_under_the_store_root(home, tmp_path):
    from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
    from zenprovision.runtime.execution import load_artifact

    store = LocalArtifactStore({"path": (tmp_path / "store").as_uri()})
    for bad in ("../outside", "runs/../../outside", "/../outside", ".."):
        with pytest.raises(ArtifactStoreError, match="outside the artifact store"):
            store.write_bytes(bad, b"x")
    assert not (tmp_path / "outside").exists()
    assert store.path("runs/a/../b") == f"{store.root}/runs/b"
    (tmp_path / "secret.txt").write_text("not an artifact")
    meta = {"file": "../../../secret.txt", "materializer": "bytes", "hash": "x"}  # from runs/r: the secret
    store.write_bytes("runs/r/.out.meta.json", json.dumps(meta).encode())
    with pytest.raises(ArtifactStoreError):
        load_artifact(store, "runs/r/.out.meta.json")
    meta["file"] = "../../" + meta["file"]  # the same secret from an earlier version's layout, two folders deeper
    store.write_bytes("runs/r/out/output/meta.json", json.dumps(meta).encode())
    with pytest.raises(ArtifactStoreError):
        load_artifact(store, "runs/r/out/output")


class _Payload:
    """Unpickling this writes a file: stands for any code an attacker would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path(self.marker).write_text, ("pwned",))


def test_a_replaced_artifact_is_never_unpickled(tmp_path):
    from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
    from zenprovision.runtime.execution import load_artifact, save_artifact

    store = LocalArtifactStore({"path": (tmp_path / "store").as_uri()})
    info = save_artifact(store, "runs/r/out", {1, 2}, "step 'x' output")
    assert info["materializer"] == "pickle" and load_artifact(store, info["relpath"]) == {1, 2}
    marker = tmp_path / "marker"
    store.write_bytes("runs/r/out.pkl", pickle.dumps(_Payload(str(marker))))
    with pytest.raises(MaterializerError, match="does not match the sha256"):
        load_artifact(store, info["relpath"])
    assert not marker.exists()


def test_a_rewritten_meta_json_is_not_reused_from_the_cache(stack, home, tmp_path):
    """meta.json and data both replaced: the hash in the metadata store still tells."""
    from zenprovision.runtime.loader import load_pipeline
    from zenprovision.runtime.runner import run_pipeline

    target = write(tmp_path, "sets.py", """
        from zenprovision import pipeline, step

        @step
        def make() -> set:
            return {1, 2}

        @step
        def count(items: set) -> int:
            return len(items)

        @pipeline
        def sets():
            count(make())
        """)
    pipeline = load_pipeline(target)
    first = run_pipeline(pipeline, stack, {})
    folder = home / "artifacts" / "runs" / first.run_id
    forged = pickle.dumps({1, 2, 3})
    (folder / "make.pkl").write_bytes(forged)
    meta = json.loads((folder / ".make.meta.json").read_text())
    import hashlib

    meta["hash"] = hashlib.sha256(forged).hexdigest()
    (folder / ".make.meta.json").write_text(json.dumps(meta))
    second = run_pipeline(pipeline, stack, {})
    assert second.steps["make"] == "succeeded"  # re-run, not taken from the cache
    assert second.output("count") == 2


def test_no_pickle_refuses_pickle_based_loads_and_stores(home, tmp_path, monkeypatch):
    from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
    from zenprovision.runtime.execution import load_artifact, save_artifact

    store = LocalArtifactStore({"path": (tmp_path / "store").as_uri()})
    pickled = save_artifact(store, "runs/r/set", {1, 2}, "step 'x' output")["relpath"]
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.yaml").write_text("no_pickle: true\n")
    with pytest.raises(MaterializerError, match="unpickles"):
        load_artifact(store, pickled)
    with pytest.raises(MaterializerError, match="no materializer for set"):
        save_artifact(store, "runs/r/other", {3}, "step 'y' output")
    plain = save_artifact(store, "runs/r/json", {"a": [1, 2]}, "step 'z' output")["relpath"]
    assert load_artifact(store, plain) == {"a": [1, 2]}
    monkeypatch.setenv("ZENPROVISION_NO_PICKLE", "0")  # the environment overrides the file
    assert load_artifact(store, pickled) == {1, 2}
    monkeypatch.setenv("ZENPROVISION_NO_PICKLE", "1")
    (home / "settings.yaml").unlink()
    with pytest.raises(MaterializerError, match="unpickles"):
        load_artifact(store, pickled)


def test_infinite_float_parameter_is_refused(stack, cli, tmp_path):
    target = write(tmp_path, "floats.py", """
        from zenprovision import pipeline, step

        @step
        def nap(seconds: float) -> float:
            return seconds

        @pipeline
        def naps(seconds: float = 1.0):
            nap(seconds=seconds)
        """)
    for value in ("1e999", "nan", "-inf"):
        result = cli("run", target, "--stack", stack, "-p", f"seconds={value}")
        assert result.code == 2, value
        assert "parameter 'seconds' must be float" in one_line_error(result)


def test_secret_parameters_and_metadata_are_stored_masked(stack, home, cli, tmp_path):
    target = write(tmp_path, "secrets.py", """
        from zenprovision import log_metadata, pipeline, step
        from zenprovision.runtime.pipelines import Secret

        @step
        def use(key: str) -> int:
            log_metadata(password="hunter2-step", rows=3)
            log_metadata(run=True, api_token="tok-run-value", note="AKIAABCDEFGHIJKLMNOP", accuracy=0.9)
            return len(key)

        @pipeline
        def guarded(key: Secret[str], db_password: str = "pw-default-value", epochs: int = 2):
            use(key=key)
        """)
    result = cli("run", target, "--stack", stack, "-p", "key=sk-live-plain-key", "-p", "db_password=pw-given-value",
                 "--json")
    assert result.code == 0, result.err
    run_id = json.loads(result.out)["run_id"]
    meta = MetadataStore(stack)
    run = meta.run(run_id)
    assert run["params"] == {"key": "[secret]", "db_password": "[secret]", "epochs": 2}
    assert run["metadata"] == {"api_token": "[secret]", "note": "[secret]", "accuracy": 0.9}
    assert run["steps"][0]["metadata"] == {"password": "[secret]", "rows": 3}
    meta.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    meta.close()
    stored = b"".join(p.read_bytes() for p in (home / "metadata").iterdir())
    for plain in (b"sk-live-plain-key", b"pw-given-value", b"hunter2-step", b"tok-run-value", b"AKIAABCDEFGH"):
        assert plain not in stored
    assert "sk-live-plain-key" not in result.out + result.err


def test_a_secret_parameter_reaches_the_step_in_plain_text(stack, tmp_path):
    from zenprovision.runtime.loader import load_pipeline

    target = write(tmp_path, "plain.py", """
        from zenprovision import pipeline, step
        from zenprovision.runtime.pipelines import Secret

        @step
        def echo(key: str) -> str:
            return key

        @pipeline
        def p(key: Secret[str], retries: Secret[int] = 1):
            echo(key=key)
        """)
    pipeline = load_pipeline(target)
    assert pipeline.secret_parameters() == {"key", "retries"}
    assert pipeline.parameters({"key": "abc", "retries": "3"}) == {"key": "abc", "retries": 3}
    assert pipeline.run(stack=stack, key="abc").output("echo") == "abc"
