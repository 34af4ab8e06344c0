"""The embedded engine's operations in-process, without a CLI or a worker: fast and exact.

Providers here are plain classes pickled into state the way the SDK does it (dill, base64),
so ``destroy_all`` and ``Applier`` run exactly the code a real deploy runs.
"""

from __future__ import annotations

import base64

import dill
import pytest

from zenprovision.engines.embedded import state as state_store
from zenprovision.engines.embedded.ops import Applier, Registration, destroy_all
from zenprovision.engines.embedded.state import ResourceState, StackState
from zenprovision.errors import OperationFailed

TYPE = "pulumi-python:dynamic:Resource"
DELETED: list[str] = []


class RecordingProvider:
    """Deletes by name unless the name is in ``refuse``; create checks the saved state."""

    def __init__(self, refuse=()):
        self.refuse = set(refuse)

    def delete(self, _id, props):
        if props["name"] in self.refuse:
            raise PermissionError(f"{props['name']} refuses")
        DELETED.append(props["name"])

    def check(self, olds, news):
        return None

    def create(self, props):
        saved = state_store.load("s")
        pending = [p["urn"] for p in saved.pending if p["op"] == "create"]
        if pending != [urn(props["name"])]:
            raise AssertionError(f"create started before its pending record was saved: {saved.pending}")
        return type("Created", (), {"id": f"{props['name']}-id", "outs": props})()


def blob(provider) -> str:
    return base64.b64encode(dill.dumps(provider)).decode()


def urn(name: str) -> str:
    return f"urn:pulumi:s::p::{TYPE}::{name}"


def resource(name: str, depends_on=(), provider=None) -> ResourceState:
    return ResourceState(urn(name), TYPE, name, f"{name}-id", blob(provider or RecordingProvider()),
                         {"name": name}, {"name": name}, [urn(d) for d in depends_on])


@pytest.fixture(autouse=True)
def clean():
    DELETED.clear()


def test_a_failed_delete_keeps_everything_it_depends_on(home):
    failing = RecordingProvider(refuse={"app"})
    state = StackState("s", resources=[resource("network"), resource("disk", ["network"]),
                                       resource("app", ["disk"], failing), resource("logs")])
    with pytest.raises(OperationFailed) as raised:
        destroy_all(state, lambda event: None)
    assert DELETED == ["logs"]  # disk and network stay: app, left behind, still uses them
    assert [r.name for r in state.resources] == ["network", "disk", "app"]
    assert [r.name for r in state_store.load("s").resources] == ["network", "disk", "app"]
    message = raised.value.message
    assert "deleted 1 resources and left 3" in message
    assert "app (app refuses)" in message and "disk (still needed" in message and "network (still needed" in message


def test_a_failed_delete_keeps_its_parent_but_not_unrelated_resources(home):
    state = StackState("s", resources=[resource("group"), resource("other"),
                                       resource("child", provider=RecordingProvider(refuse={"child"}))])
    state.resources[2].parent = urn("group")
    with pytest.raises(OperationFailed):
        destroy_all(state, lambda event: None)
    assert DELETED == ["other"]
    assert [r.name for r in state.resources] == ["group", "child"]


def test_destroy_of_a_healthy_stack_deletes_dependents_first(home):
    state = StackState("s", resources=[resource("network"), resource("disk", ["network"]), resource("app", ["disk"])])
    assert destroy_all(state, lambda event: None) == {"delete": 3}
    assert DELETED == ["app", "disk", "network"] and state.resources == []


def test_state_records_a_create_before_the_provider_runs(home):
    """A crash inside create must leave a pending record on disk, or the resource is forgotten."""
    applier = Applier(StackState("s"), lambda event: None)
    inputs = {"__provider": blob(RecordingProvider()), "name": "bucket"}
    resource_id, outputs = applier.register(Registration(urn("bucket"), TYPE, "bucket", True, "", [], inputs))
    assert resource_id == "bucket-id" and outputs["name"] == "bucket"
    saved = state_store.load("s")
    assert [r.name for r in saved.resources] == ["bucket"] and saved.pending == []
