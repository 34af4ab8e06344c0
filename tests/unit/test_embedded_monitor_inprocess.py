"""The embedded engine's resource monitor in-process: what a registration from the SDK becomes.

Requests are the protobuf messages the SDK sends; run_program itself runs only in the worker
(the SDK's global state allows one program per process) and is covered through the CLI."""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await

from zenprovision.engines.embedded import monitor
from zenprovision.engines.embedded.monitor import STACK_TYPE, EngineMonitor


class Handler:
    def __init__(self, fail=None):
        self.registered, self.fail = [], fail

    def register(self, reg):
        self.registered.append(reg)
        if self.fail:
            raise self.fail
        return f"{reg.name}-id", {"size": 2.0, "ratio": 0.5, "tags": [1.0, {"n": 3.0}]}


@pytest.fixture
def make(monkeypatch):
    monkeypatch.setattr(EngineMonitor, "make_urn", lambda self, parent, type_, name: f"urn:{parent}:{type_}::{name}")
    return EngineMonitor


def request(name="a", type_="pulumi-python:dynamic:Resource", **fields):
    props = _sync_await(rpc.serialize_properties(fields.pop("inputs", {"n": 3, "x": "y"}), {}))
    return resource_pb2.RegisterResourceRequest(type=type_, name=name, object=props, **fields)


def test_a_registration_reaches_the_engine_whole_and_its_answer_goes_back(make):
    handler = Handler()
    engine_monitor = make(handler)
    response = engine_monitor.RegisterResource(request(
        parent="urn:group", custom=True, dependencies=["urn:net", "urn:disk"], protect=True, retainOnDelete=True,
        inputs={"n": 3, "half": 1.5, "nested": {"k": [2]}}))
    (reg,) = handler.registered
    assert (reg.urn, reg.type, reg.name, reg.custom, reg.parent) == \
        ("urn:urn:group:pulumi-python:dynamic:Resource::a", "pulumi-python:dynamic:Resource", "a", True, "urn:group")
    assert (reg.dependencies, reg.protect, reg.retain_on_delete) == (["urn:net", "urn:disk"], True, True)
    assert reg.inputs == {"n": 3, "half": 1.5, "nested": {"k": [2]}}
    assert type(reg.inputs["n"]) is int and type(reg.inputs["nested"]["k"][0]) is int
    assert (response.urn, response.id) == (reg.urn, "a-id")
    assert rpc.deserialize_properties(response.object) == {"size": 2, "ratio": 0.5, "tags": [1, {"n": 3}]}
    assert engine_monitor.resources[reg.urn].urn == reg.urn


def test_a_component_is_registered_as_not_custom(make):
    handler = Handler()
    make(handler).RegisterResource(request(type_="my:component:Group", custom=False))
    assert handler.registered[0].custom is False and handler.registered[0].protect is False


def test_the_stack_itself_is_not_a_resource_and_its_outputs_are_the_exports(make):
    handler = Handler()
    engine_monitor = make(handler)
    response = engine_monitor.RegisterResource(request("s", STACK_TYPE))
    assert handler.registered == [] and response.urn == engine_monitor.stack_urn == f"urn::{STACK_TYPE}::s"
    outputs = _sync_await(rpc.serialize_properties({"url": "u", "port": 8080.0}, {}))
    engine_monitor.RegisterResourceOutputs(resource_pb2.RegisterResourceOutputsRequest(urn="urn:other", outputs=outputs))
    assert engine_monitor.exports == {}
    engine_monitor.RegisterResourceOutputs(resource_pb2.RegisterResourceOutputsRequest(urn=response.urn, outputs=outputs))
    assert engine_monitor.exports == {"url": "u", "port": 8080} and type(engine_monitor.exports["port"]) is int


def test_after_a_failed_resource_no_other_is_applied_and_the_first_failure_is_kept(make):
    first = RuntimeError("create of 'a' failed")
    handler = Handler(fail=first)
    engine_monitor = make(handler)
    with pytest.raises(RuntimeError, match="create of 'a' failed"):
        engine_monitor.RegisterResource(request("a"))
    handler.fail = None
    with pytest.raises(RuntimeError, match="^an earlier resource failed$"):
        engine_monitor.RegisterResource(request("b"))
    assert [r.name for r in handler.registered] == ["a"] and engine_monitor.failure is first


@pytest.mark.parametrize("value, text", [(True, "true"), (False, "false"), ([1, "a"], '[1, "a"]'),
                                         ({"k": 1}, '{"k": 1}'), (3, "3"), ("s", "s")])
def test_config_values_reach_the_program_as_pulumi_config_strings(value, text):
    assert monitor._config_string(value) == text


def test_unknown_values_of_a_preview_stay_unknown_in_inputs_and_exports(make):
    from pulumi.runtime.rpc import UNKNOWN as SERIALIZED_UNKNOWN

    from zenprovision.engines.embedded.values import redact

    handler = Handler()
    engine_monitor = make(handler)
    props = _sync_await(rpc.serialize_properties({"name": "a", "url": SERIALIZED_UNKNOWN}, {}))
    engine_monitor.RegisterResource(resource_pb2.RegisterResourceRequest(type="t:m:T", name="a", object=props))
    assert redact(handler.registered[0].inputs) == {"name": "a", "url": "(known after apply)"}
    stack = engine_monitor.RegisterResource(request("s", STACK_TYPE))
    engine_monitor.RegisterResourceOutputs(resource_pb2.RegisterResourceOutputsRequest(urn=stack.urn, outputs=props))
    assert redact(engine_monitor.exports) == {"name": "a", "url": "(known after apply)"}


def test_the_sdk_sees_each_resource_with_its_id_and_outputs_and_provider_functions_answer_empty(make):
    engine_monitor = make(Handler())
    response = engine_monitor.RegisterResource(request("a"))
    registered = engine_monitor.resources[response.urn]
    assert (registered.urn, registered.id, registered.state) == \
        (response.urn, "a-id", {"size": 2.0, "ratio": 0.5, "tags": [1.0, {"n": 3.0}]})
    assert engine_monitor.mocks.call(None) == {}


def test_a_resource_the_program_reads_by_id_answers_with_the_properties_it_was_read_with(make):
    """``Bucket.get(name, id)`` in a recipe: the plan cannot look it up, so it sees what it passed."""
    engine_monitor = make(Handler())
    props = _sync_await(rpc.serialize_properties({"arn": "arn:x"}, {}))
    response = engine_monitor.ReadResource(resource_pb2.ReadResourceRequest(
        type="aws:s3/bucket:Bucket", name="logs", id="logs-bucket", properties=props))
    assert rpc.deserialize_properties(response.properties) == {"arn": "arn:x"}
