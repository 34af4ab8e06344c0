"""One durable sync per step, and still never a meta file without its data (docs/reliability.md)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
from zenprovision.runtime.execution import load_artifact, save_artifact

WRITER = """
import sys
from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
from zenprovision.runtime.execution import save_artifact
store = LocalArtifactStore({"path": sys.argv[1]})
index = 0
while True:
    save_artifact(store, f"runs/r/step{index}", list(range(index % 5000)), "test")
    index += 1
"""


def test_a_step_output_costs_one_fsync_made_before_its_meta_exists(tmp_path, monkeypatch):
    store = LocalArtifactStore({"path": str(tmp_path)})
    synced: list[bool] = []
    real_fsync = os.fsync
    meta = tmp_path / "runs/r/.s.meta.json"

    def fsync(fd: int) -> None:
        synced.append(meta.exists())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    artifact = save_artifact(store, "runs/r/s", {"rows": 3}, "test")
    assert synced == [False]  # one sync, and the meta did not exist yet
    assert meta.exists() and load_artifact(store, artifact["relpath"]) == {"rows": 3}


def test_a_kill_at_any_moment_never_leaves_a_meta_without_its_data(tmp_path):
    for delay in (0.3, 0.45, 0.6, 0.8):
        root = tmp_path / str(delay)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root)])
        time.sleep(delay)
        while not list(root.rglob("*.meta.json")) and writer.poll() is None:
            time.sleep(0.05)  # a loaded machine: let it write something first
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        metas = list(root.rglob("*.meta.json"))
        assert metas
        for path in metas:
            meta = json.loads(path.read_text())
            data = (path.parent / meta["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == meta["hash"] and len(data) == meta["size"]


def test_an_empty_meta_json_reads_as_incomplete_not_as_an_artifact(tmp_path):
    from zenprovision.runtime.scheduler import Scheduler

    store = LocalArtifactStore({"path": str(tmp_path)})
    artifact = save_artifact(store, "runs/r/s", 7, "test")
    Path(tmp_path / "runs/r/.s.meta.json").write_bytes(b"")  # what a crash may leave of an unsynced file
    probe = Scheduler.__new__(Scheduler)
    probe.store = store
    assert Scheduler._intact(probe, artifact) is False
