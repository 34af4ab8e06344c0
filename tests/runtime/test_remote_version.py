"""A step image running another zenprovision than the orchestrator says so and fails the step, instead of
a bare FileNotFoundError (r6: an image built before the 0.2.0 layout looked for task files elsewhere)."""

import json

import pytest

from zenprovision import __version__
from zenprovision.runtime import remote
from zenprovision.runtime.artifact_stores.local import LocalArtifactStore

COMPONENT = {"flavor": "local", "config": {}}


@pytest.fixture
def store(tmp_path):
    COMPONENT["config"] = {"path": str(tmp_path / "artifacts")}
    return LocalArtifactStore(COMPONENT["config"])


def test_a_task_written_by_another_version_is_refused_naming_both(store):
    store.write_bytes(remote.task_file("r1", "s", "task.json"), json.dumps({"zenprovision": "0.1.0"}).encode())
    result = remote.run_remote_step(COMPONENT, "r1", "s")
    assert not result.ok and f"runs zenprovision {__version__}" in result.error and "written by zenprovision 0.1.0" in result.error
    assert "build and push the step image" in result.error
    assert remote.read_result(store, "r1", "s").error == result.error  # the orchestrator reads it back


def test_no_task_where_this_version_writes_it_is_refused(store):
    result = remote.run_remote_step(COMPONENT, "r1", "s")
    assert not result.ok and "no task at runs/r1/.s.task.json" in result.error
