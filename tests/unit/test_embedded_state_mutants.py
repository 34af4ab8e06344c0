"""The embedded engine's state file and property values, as mutation testing found them untested.

State files outlive the code that wrote them: these tests write them by hand, the way an
earlier version or a teammate's machine left them, and read them with today's code.
"""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest
from pulumi.output import Unknown

from zenprovision.engines.embedded import state as state_store
from zenprovision.engines.embedded.state import ResourceState, StackState
from zenprovision.engines.embedded.values import (
    PROVIDER_KEY,
    SECRET_SIG,
    SECRET_SIG_KEY,
    UNKNOWN,
    contains_secret,
    redact,
    reveal,
    split_provider,
)
from zenprovision.errors import CorruptFileError


def secret(value):
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write(stack: str, data: dict) -> None:
    path = state_store.state_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def a_resource(urn="urn:a", provider="YmxvYg=="):
    return {"urn": urn, "type": "t", "name": urn[-1], "id": "1", "provider": provider, "inputs": {}, "outputs": {}}


def test_a_stack_never_deployed_has_an_empty_state_of_its_own_name(home):
    loaded = state_store.load("dev")
    assert (loaded.stack, loaded.resources, loaded.pending) == ("dev", [], [])
    assert not state_store.exists("dev")


def test_exists_is_about_that_stack_only(home):
    state_store.save(StackState("dev"))
    assert state_store.exists("dev") and not state_store.exists("prod")


def test_a_minimal_state_file_loads(home):
    """Only the stack's name: no resources, no pending, no version (written before versions)."""
    write("dev", {"stack": "dev"})
    loaded = state_store.load("dev")
    assert (loaded.stack, loaded.resources, loaded.pending, loaded.version) == ("dev", [], [], 2)


def test_a_state_without_a_version_is_from_before_hashes_and_loads_without_them(home):
    write("dev", {"stack": "dev", "resources": [a_resource()]})
    assert state_store.load("dev").resources[0].provider == "YmxvYg=="


def test_a_version_2_state_with_nothing_deployed_yet_loads(home):
    write("dev", {"stack": "dev", "version": 2, "pending": []})
    assert state_store.load("dev").resources == []


def test_a_version_2_state_written_by_hand_without_pending_loads(home):
    write("dev", {"stack": "dev", "version": 2, "resources": [a_resource()],
                  "provider_sha256": {"resource urn:a": sha("YmxvYg==")}})
    assert [r.urn for r in state_store.load("dev").resources] == ["urn:a"]


def test_the_recorded_hashes_name_resources_and_pending_operations(home):
    """The file format a saved state has: another machine's zenprovision reads it."""
    state = StackState("dev", resources=[ResourceState(**a_resource())])
    state.begin("create", "urn:b", provider="cGVuZA==")
    state_store.save(state)
    data = json.loads(state_store.state_path("dev").read_text())
    assert data["provider_sha256"] == {"resource urn:a": sha("YmxvYg=="), "pending urn:b": sha("cGVuZA==")}


def test_a_replaced_resource_provider_is_refused(home):
    write("dev", {"stack": "dev", "version": 2, "resources": [a_resource(provider="ZXZpbA==")], "pending": [],
                  "provider_sha256": {"resource urn:a": sha("YmxvYg==")}})
    with pytest.raises(CorruptFileError, match="the provider of resource urn:a does not match"):
        state_store.load("dev")


def test_a_damaged_state_is_one_clear_error_naming_the_file(home):
    write("dev", {"stack": "dev", "resources": [{"urn": "urn:a"}]})
    with pytest.raises(CorruptFileError) as raised:
        state_store.load("dev")
    assert raised.value.message.startswith(f"engine state {state_store.state_path('dev')} is damaged: ")
    assert raised.value.hint == "restore it from a backup; zenprovision will not overwrite it"


def test_values_json_cannot_hold_are_saved_as_text(home):
    state = StackState("dev", outputs={"when": datetime.date(2026, 12, 2)})
    state_store.save(state)
    assert state_store.load("dev").outputs == {"when": "2026-12-02"}


def test_put_replaces_a_resource_in_place_and_adds_a_new_one_last():
    state = StackState("dev", resources=[ResourceState(**a_resource("urn:a")), ResourceState(**a_resource("urn:b"))])
    state.put(ResourceState(**{**a_resource("urn:a"), "id": "2"}))
    state.put(ResourceState(**a_resource("urn:c")))
    assert [(r.urn, r.id) for r in state.resources] == [("urn:a", "2"), ("urn:b", "1"), ("urn:c", "1")]


def test_a_new_operation_replaces_the_record_of_the_same_resource_only():
    state = StackState("dev")
    state.begin("create", "urn:a")
    state.begin("update", "urn:b")
    state.begin("delete", "urn:a")
    assert state.pending == [{"op": "update", "urn": "urn:b"}, {"op": "delete", "urn": "urn:a"}]
    state.finish("urn:a")
    assert state.pending == [{"op": "update", "urn": "urn:b"}]


# --- values -----------------------------------------------------------------------------------


def test_reveal_unwraps_secrets_at_any_depth():
    value = {"a": secret("x"), "b": [secret({"c": secret(1)}), 2], "d": secret([secret("y")])}
    assert reveal(value) == {"a": "x", "b": [{"c": 1}, 2], "d": ["y"]}


def test_redact_masks_secrets_and_spells_out_unknowns_at_any_depth():
    value = {"a": secret("x"), "b": [secret("y"), UNKNOWN, 3], "c": {"d": Unknown()}}
    assert redact(value) == {"a": "[secret]", "b": ["[secret]", "(known after apply)", 3],
                             "c": {"d": "(known after apply)"}}
    assert redact({SECRET_SIG_KEY: "other", "value": 1}) == {SECRET_SIG_KEY: "other", "value": 1}


def test_contains_secret_looks_into_dicts_and_lists():
    assert contains_secret({"a": [1, {"b": secret("x")}]}) and contains_secret([secret(1)])
    assert not contains_secret({"a": [1, {"b": "x"}]}) and not contains_secret("x")


def test_split_provider_takes_the_provider_out_of_the_inputs():
    inputs = {PROVIDER_KEY: secret("YmxvYg=="), "name": "a"}
    assert split_provider(inputs) == ("YmxvYg==", {"name": "a"})
    assert PROVIDER_KEY in inputs  # the registration is left as it was
    assert split_provider({"name": "a"}) == ("", {"name": "a"})
