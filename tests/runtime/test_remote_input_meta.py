"""On an orchestrator that runs steps elsewhere (Dask, Kubernetes), a step's input written in the same
run is checked against the sha256 its step returned, as on the local one (docs/pipelines.md, trust
boundary): a meta.json rewritten mid-run to match replaced data is not believed there either.

The "elsewhere" is the real remote entrypoint (``python -m zenprovision.runtime.entrypoint``) in a
subprocess per step, behind the same ``RemoteExecutor`` the Dask and Kubernetes orchestrators use.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import Future
from contextlib import contextmanager

import pytest

from tests.runtime.conftest import make_stack
from zenprovision.runtime import flavors
from zenprovision.runtime.loader import load_pipeline
from zenprovision.runtime.orchestrators.base import BaseOrchestrator
from zenprovision.runtime.orchestrators.remote import RemoteExecutor, failed
from zenprovision.runtime.remote import read_result
from zenprovision.runtime.runner import RunFailed
from zenprovision.stacks import store

PIPELINE = '''
import hashlib
import json

from zenprovision import get_step_context, pipeline, step


@step
def produce() -> int:
    return 1


@step
def rewrite_upstream(value: int) -> int:
    """Replaces produce's data and rewrites its meta.json to match, as a tamperer with write access would."""
    context = get_step_context()
    store, folder = context.artifact_store, f"runs/{context.run_id}"
    meta = json.loads(store.read_bytes(f"{folder}/.produce.meta.json"))
    data = json.dumps(666).encode()
    store.write_bytes(f"{folder}/{meta['file']}", data)
    meta.update(hash=hashlib.sha256(data).hexdigest(), size=len(data))
    store.write_bytes(f"{folder}/.produce.meta.json", json.dumps(meta).encode())
    return value


@step
def consume(value: int, after: int) -> int:
    return value


@pipeline
def rewritten():
    value = produce()
    consume(value, rewrite_upstream(value))
'''


class EntrypointOrchestrator(BaseOrchestrator):
    """Each step in a fresh process through the remote entrypoint, reading the task the orchestrator wrote."""

    flavor = "entrypoint"

    def prepare_run(self, context):
        self.context = context

    @contextmanager
    def executor(self):
        component = self.context.stack["components"]["artifact_store"]

        def dispatch(run_id: str, node_id: str, future: Future) -> None:
            done = subprocess.run([sys.executable, "-m", "zenprovision.runtime.entrypoint", "--run", run_id,
                                   "--step", node_id], capture_output=True, text=True,
                                  env={**os.environ, "ZENPROVISION_ARTIFACT_STORE": json.dumps(component)})
            try:
                future.set_result(read_result(self.context.store, run_id, node_id))
            except FileNotFoundError:
                future.set_result(failed(node_id, done.stderr))

        yield RemoteExecutor(self.context, dispatch)

    def abort(self, executor):
        return None


@pytest.fixture
def remote_stack(home, monkeypatch):
    monkeypatch.setitem(flavors.BUILTIN["orchestrator"], "entrypoint",
                        (f"{__name__}:EntrypointOrchestrator", "", ()))
    config = make_stack("rr", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    orchestrator = config.components.orchestrator.model_copy(update={"flavor": "entrypoint", "config": {}})
    store.save(config.model_copy(update={"components": config.components.model_copy(
        update={"orchestrator": orchestrator})}))
    return "rr"


def test_a_remote_step_refuses_an_input_rewritten_with_a_matching_meta_json(remote_stack, tmp_path):
    (tmp_path / "rewritten.py").write_text(PIPELINE)
    pipeline = load_pipeline(f"{tmp_path / 'rewritten.py'}:rewritten")
    with pytest.raises(RunFailed, match="does not match the sha256") as failed_run:
        pipeline.run(stack=remote_stack, cache=False)
    assert failed_run.value.summary.failed_step == "consume"
    assert failed_run.value.summary.steps["rewrite_upstream"] == "succeeded"
