"""The embedded engine's decisions and operations in-process, as mutation testing found them untested.

Every test runs the engine's own code on providers pickled into state the way the SDK does
it (dill, base64). A provider records each call, with what state held on disk at that
moment, so "saved before the provider ran" is asserted, not assumed.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace

import dill
import pytest

from zenprovision.engines.embedded import ops
from zenprovision.engines.embedded import state as state_store
from zenprovision.engines.embedded.ops import (
    Applier,
    Interrupt,
    Planner,
    Registration,
    decide,
    delete_resource,
    destroy_all,
    recover_pending_creates,
    refresh_all,
)
from zenprovision.engines.embedded.state import ResourceState, StackState
from zenprovision.engines.embedded.values import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN
from zenprovision.errors import CancelledError, InputError, OperationFailed, UnsupportedError

TYPE = "pulumi-python:dynamic:Resource"
CALLS: list[tuple] = []


def secret(value):
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def on_disk() -> dict:
    """What the state file held when a provider was called: pending operations and resource names."""
    saved = state_store.load("s")
    return {"pending": [(p["op"], p["urn"].rsplit("::", 1)[1]) for p in saved.pending],
            "resources": [r.name for r in saved.resources]}


class Provider:
    """A dynamic provider whose answers are given when it is made; it records every call."""

    def __init__(self, diff=None, checked=None, failures=(), outs=True, fail=(), read=None):
        self.diff_result, self.checked, self.failures = diff, checked, list(failures)
        self.outs, self.fail, self.read_result = outs, set(fail), read

    def check(self, olds, news):
        CALLS.append(("check", olds, news))
        return SimpleNamespace(inputs=self.checked, failures=self.failures)

    def diff(self, id_, olds, news):
        CALLS.append(("diff", id_, olds, news))
        return self.diff_result

    def create(self, props):
        CALLS.append(("create", props, on_disk(), state_store.load("s").pending))
        if "create" in self.fail:
            raise RuntimeError("create refused")
        return SimpleNamespace(id=f"{props['name']}-id2", outs={**props, "made": True} if self.outs else None)

    def update(self, id_, olds, news):
        CALLS.append(("update", id_, olds, news, on_disk()))
        if "update" in self.fail:
            raise RuntimeError("update refused")
        return SimpleNamespace(outs={**news, "updated": True}) if self.outs else None  # None: no result at all

    def delete(self, id_, props):
        CALLS.append(("delete", id_, props, on_disk()))
        if "delete" in self.fail:
            raise PermissionError(f"{props.get('name')} refuses")

    def read(self, id_, props):
        CALLS.append(("read", id_, props))
        return self.read_result


def blob(provider) -> str:
    return base64.b64encode(dill.dumps(provider)).decode()


def urn(name: str) -> str:
    return f"urn:pulumi:s::p::{TYPE}::{name}"


def resource(name, provider=None, depends_on=(), parent="", outputs=None) -> ResourceState:
    return ResourceState(urn(name), TYPE, name, f"{name}-id", blob(provider or Provider()), {"name": name},
                         outputs or {"name": name}, [urn(d) for d in depends_on], parent)


def registration(name, provider=None, depends_on=(), parent="", type_=TYPE, custom=True, **inputs) -> Registration:
    return Registration(urn(name), type_, name, custom, parent, [urn(d) for d in depends_on],
                        {"__provider": blob(provider or Provider()), "name": name, **inputs})


class Clock:
    """ops' clock: 100, 102.5, 105, ... so an event's seconds are exactly end minus start."""

    def __init__(self):
        self.now = 97.5

    def monotonic(self):
        self.now += 2.5
        return self.now


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(Interrupt, "requested", False)
    monkeypatch.setattr(ops, "time", Clock())


def calls(kind: str) -> list[tuple]:
    return [c[1:] for c in CALLS if c[0] == kind]


def saved(stack="s") -> StackState:
    return state_store.load(stack)


# --- decide: create, same, update, replace -------------------------------------------------


def test_a_new_resource_is_created_with_the_inputs_its_provider_checked():
    provider = Provider(checked={"name": "a", "size": 2})
    decision = decide(provider, registration("a"), None, {"name": "a", "key": secret("k")})
    assert (decision.op, decision.news) == ("create", {"name": "a", "size": 2})
    assert calls("check") == [({}, {"name": "a", "key": "k"})]  # the provider sees plain values


def test_inputs_the_provider_does_not_rewrite_are_kept_as_given():
    decision = decide(Provider(checked=None), registration("a"), None, {"name": "a"})
    assert decision.news == {"name": "a"}


def test_a_failed_check_names_the_resource_and_the_first_failure():
    failures = [SimpleNamespace(property="size", reason="must be positive"), SimpleNamespace(property="x", reason="y")]
    with pytest.raises(InputError) as raised:
        decide(Provider(failures=failures), registration("a"), None, {"name": "a"})
    assert raised.value.message == "resource 'a': size: must be positive"


def test_a_failed_check_of_a_deployed_resource_names_it_in_apply_and_plan(home):
    failures = [SimpleNamespace(property="size", reason="too big")]
    provider = Provider(diff=SimpleNamespace(changes=True), failures=failures)
    with pytest.raises(InputError, match="^resource 'a': size: too big$"):
        decide(provider, registration("a"), resource("a"), {"name": "a"})
    with pytest.raises(InputError, match="^resource 'a': size: too big$"):
        Applier(StackState("s", resources=[resource("a")]), lambda e: None).register(registration("a", provider))
    with pytest.raises(InputError, match="^resource 'a': size: too big$"):
        Planner(StackState("s", resources=[resource("a")])).register(registration("a", provider))


def test_an_update_lists_every_changed_added_and_removed_input():
    old = resource("a")
    old.inputs = {"name": "a", "size": 1, "gone": True, "same": 0}
    old.outputs = {"name": "a", "size": 1, "token": secret("t")}
    news = {"name": "a", "size": 2, "added": "x", "same": 0}
    decision = decide(Provider(diff=SimpleNamespace(changes=True)), registration("a"), old, news)
    assert (decision.op, decision.news, decision.diffs) == ("update", news, ("added", "gone", "size"))
    assert calls("check") == [({"name": "a", "size": 1, "gone": True, "same": 0}, news)]
    assert calls("diff") == [("a-id", {"name": "a", "size": 1, "token": "t"}, news)]


def test_the_update_decision_uses_the_checked_inputs():
    old = resource("a")
    decision = decide(Provider(diff=SimpleNamespace(changes=True), checked={"name": "a", "size": 9}),
                      registration("a"), old, {"name": "a", "size": 2})
    assert decision.news == {"name": "a", "size": 9} and decision.diffs == ("size",)
    assert calls("diff")[0][2] == {"name": "a", "size": 9}


def test_without_a_provider_verdict_changed_inputs_mean_update_and_equal_ones_same():
    old = resource("a")
    assert decide(Provider(diff=None), registration("a"), old, {"name": "a", "size": 2}).op == "update"
    same = decide(Provider(diff=SimpleNamespace(changes=None)), registration("a"), old, {"name": "a"})
    assert (same.op, same.news, same.diffs) == ("same", {"name": "a"}, ())


def test_the_provider_saying_no_changes_wins_over_differing_inputs():
    old = resource("a")
    assert decide(Provider(diff=SimpleNamespace(changes=False)), registration("a"), old, {"name": "a", "v": 2}).op == "same"


def test_a_provider_asking_to_replace_gets_a_replace_with_its_reasons():
    old = resource("a")
    decision = decide(Provider(diff=SimpleNamespace(replaces=["zone"], changes=True)), registration("a"), old,
                      {"name": "a", "zone": "b"})
    assert (decision.op, decision.news, decision.diffs) == ("replace", {"name": "a", "zone": "b"}, ("zone",))


# --- Applier: state saved around every operation -------------------------------------------


def test_a_create_is_recorded_whole_before_the_provider_runs_so_a_crash_can_clean_it_up(home):
    reg = registration("a", key=secret("k"))
    Applier(StackState("s"), lambda e: None).register(reg)
    (props, disk, pending), = calls("create")
    assert props == {"name": "a", "key": "k"}  # the provider sees plain values
    # what a crash inside create leaves on disk: enough to delete it without the program
    assert pending == [{"op": "create", "urn": urn("a"), "provider": reg.inputs["__provider"],
                        "inputs": {"name": "a", "key": secret("k")}, "type": TYPE, "name": "a"}]
    assert disk == {"pending": [("create", "a")], "resources": []}
    assert saved().pending == []


def test_a_created_resource_is_saved_with_everything_needed_to_manage_it(home):
    applier = Applier(StackState("s"), lambda e: None)
    reg = registration("a", depends_on=["net"], parent=urn("group"))
    assert applier.register(reg) == ("a-id2", {"name": "a", "made": True})
    expected = ResourceState(urn("a"), TYPE, "a", "a-id2", reg.inputs["__provider"], {"name": "a"},
                             {"name": "a", "made": True}, [urn("net")], urn("group"))
    assert saved().resources == [expected] and saved().pending == []


def test_a_create_without_outputs_keeps_its_inputs_as_outputs(home):
    applier = Applier(StackState("s"), lambda e: None)
    assert applier.register(registration("a", Provider(outs=False), size=1)) == ("a-id2", {"name": "a", "size": 1})
    assert saved().resources[0].outputs == {"name": "a", "size": 1}


def test_an_update_is_recorded_before_the_provider_runs_and_keeps_the_id(home):
    old = resource("a", outputs={"name": "a", "token": secret("t"), "url": "u"})
    state = StackState("s", resources=[old])
    state_store.save(state)
    provider = Provider(diff=SimpleNamespace(changes=True))
    applier = Applier(state, lambda e: None)
    assert applier.register(registration("a", provider, size=2)) == ("a-id", {"name": "a", "size": 2, "updated": True})
    (id_, olds, news, disk), = calls("update")
    assert (id_, olds, news) == ("a-id", {"name": "a", "token": "t", "url": "u"}, {"name": "a", "size": 2})
    assert disk == {"pending": [("update", "a")], "resources": ["a"]}
    assert saved().resources[0].id == "a-id" and saved().resources[0].inputs == {"name": "a", "size": 2}
    assert saved().pending == [] and applier.counts == {"update": 1}


def test_an_update_without_outputs_keeps_the_old_outputs_it_did_not_change(home):
    state = StackState("s", resources=[resource("a", outputs={"name": "a", "url": "u"})])
    applier = Applier(state, lambda e: None)
    provider = Provider(diff=SimpleNamespace(changes=True), outs=False)
    assert applier.register(registration("a", provider, size=2))[1] == {"name": "a", "url": "u", "size": 2}


def test_a_replace_deletes_the_old_resource_before_creating_the_new_one(home):
    old = resource("a", outputs={"name": "a", "token": secret("t")})
    state = StackState("s", resources=[resource("net"), old])
    state_store.save(state)
    provider = Provider(diff=SimpleNamespace(replaces=["zone"]), outs=False)
    applier = Applier(state, lambda e: None)
    assert applier.register(registration("a", provider, zone="b")) == ("a-id2", {"name": "a", "zone": "b"})
    assert [c[0] for c in CALLS if c[0] in ("create", "delete")] == ["delete", "create"]
    (id_, props, disk), = calls("delete")
    assert (id_, props) == ("a-id", {"name": "a", "token": "t"})
    assert disk == {"pending": [("delete", "a")], "resources": ["net", "a"]}
    assert calls("create")[0][1] == {"pending": [("create", "a")], "resources": ["net"]}
    assert [(r.name, r.id) for r in saved().resources] == [("net", "net-id"), ("a", "a-id2")]
    assert applier.counts == {"replace": 1}


def test_a_failed_create_clears_its_record_and_says_what_failed(home):
    events = []
    applier = Applier(StackState("s"), events.append)
    with pytest.raises(OperationFailed) as raised:
        applier.register(registration("a", Provider(fail={"create"})))
    assert raised.value.message == "create of 'a' failed: create refused"
    assert saved().pending == [] and saved().resources == []
    assert events == [
        {"kind": "resource-pre", "op": "create", "urn": urn("a"), "type": TYPE, "name": "a"},
        {"kind": "resource-failed", "op": "create", "urn": urn("a"), "type": TYPE, "name": "a",
         "message": "create refused"},
    ]


def test_a_failed_update_keeps_the_resource_as_it_was(home):
    state = StackState("s", resources=[resource("a")])
    applier = Applier(state, lambda e: None)
    with pytest.raises(OperationFailed, match="update of 'a' failed: update refused"):
        applier.register(registration("a", Provider(diff=SimpleNamespace(changes=True), fail={"update"}), size=2))
    assert saved().pending == [] and saved().resources[0].inputs == {"name": "a"}


def test_progress_events_name_the_operation_and_its_duration(home):
    events = []
    Applier(StackState("s"), events.append).register(registration("a"))
    assert events == [
        {"kind": "resource-pre", "op": "create", "urn": urn("a"), "type": TYPE, "name": "a"},
        {"kind": "resource-done", "op": "create", "urn": urn("a"), "type": TYPE, "name": "a", "seconds": 2.5},
    ]


def test_an_unchanged_resource_is_not_touched_but_follows_the_program(home):
    old = resource("a", depends_on=["x"])
    state = StackState("s", resources=[old])
    applier = Applier(state, lambda e: None)
    new_provider = Provider(diff=SimpleNamespace(changes=False))
    reg = registration("a", new_provider, depends_on=["net"], parent=urn("group"))
    assert applier.register(reg) == ("a-id", {"name": "a"})
    assert not calls("create") and not calls("update") and not calls("delete")
    kept = state.get(urn("a"))
    assert (kept.provider, kept.dependencies, kept.parent) == (reg.inputs["__provider"], [urn("net")], urn("group"))
    assert applier.counts == {"same": 1} and applier.seen == {urn("a")}


def test_counts_add_up_per_operation(home):
    state = StackState("s", resources=[resource("a"), resource("b")])
    applier = Applier(state, lambda e: None)
    applier.register(registration("a", Provider(diff=SimpleNamespace(changes=False))))
    applier.register(registration("b", Provider(diff=SimpleNamespace(changes=False))))
    applier.register(registration("c"))
    applier.register(registration("d"))
    applier.register(registration("e"))
    assert applier.counts == {"same": 2, "create": 3}


def test_components_are_not_applied_and_other_providers_need_the_pulumi_cli(home):
    applier = Applier(StackState("s"), lambda e: None)
    assert applier.register(registration("group", custom=False)) == ("", {})
    with pytest.raises(UnsupportedError) as raised:
        applier.register(registration("bucket", type_="aws:s3/bucket:Bucket"))
    assert raised.value.message == "resource 'bucket' (aws:s3/bucket:Bucket) needs the Pulumi CLI to be applied"
    assert raised.value.hint == ("the embedded engine applies only dynamic-provider recipes; install the "
                                 "Pulumi CLI and use the pulumi engine, or plan it offline")
    assert CALLS == [] and applier.seen == set()


def test_an_interrupt_stops_before_the_next_change_but_not_before_unchanged_resources(home):
    state = StackState("s", resources=[resource("a")])
    applier = Applier(state, lambda e: None)
    Interrupt.requested = True
    assert applier.register(registration("a", Provider(diff=SimpleNamespace(changes=False))))[0] == "a-id"
    with pytest.raises(CancelledError) as raised:
        applier.register(registration("b"))
    assert raised.value.message == "interrupted: the operations that finished are saved in state"
    assert raised.value.hint == "run the same command again to converge"
    assert not calls("create")


def test_resources_that_left_the_program_are_deleted_newest_first(home):
    state = StackState("s", resources=[resource("net"), resource("kept"), resource("disk"), resource("app")])
    applier = Applier(state, lambda e: None)
    applier.seen.add(urn("kept"))
    applier.delete_unseen()
    assert [c[1]["name"] for c in calls("delete")] == ["app", "disk", "net"]
    assert [r.name for r in saved().resources] == ["kept"] and applier.counts == {"delete": 3}


def test_an_interrupt_stops_deleting_what_left_the_program(home):
    state = StackState("s", resources=[resource("net")])
    Interrupt.requested = True
    with pytest.raises(CancelledError):
        Applier(state, lambda e: None).delete_unseen()
    assert CALLS == [] and [r.name for r in state.resources] == ["net"]


def test_after_an_apply_an_interrupted_create_the_program_no_longer_has_is_cleaned_up(home):
    state = StackState("s")
    state.begin("create", urn("old"), provider=blob(Provider()), inputs={"name": "old"}, type=TYPE, name="old")
    state.begin("create", urn("again"), provider=blob(Provider()), inputs={"name": "again"}, type=TYPE, name="again")
    applier = Applier(state, lambda e: None)
    applier.seen.add(urn("again"))  # recreated by this apply: its record is not an orphan
    applier.delete_unseen()
    assert [c[:2] for c in calls("delete")] == [("", {"name": "old"})]
    assert [p["urn"] for p in saved().pending] == [urn("again")]


def test_an_apply_reports_an_interrupted_create_it_cannot_clean_up(home):
    state = StackState("s")
    pending_create(state, "stuck", Provider(fail={"delete"}))
    events = []
    Applier(state, events.append).delete_unseen()
    assert events == [{"kind": "diagnostic",
                       "message": "interrupted create of 'stuck' may have left a resource behind: stuck refuses"}]


# --- delete_resource and recovery of interrupted creates ------------------------------------


def test_a_delete_is_recorded_before_the_provider_runs_and_the_resource_dropped_after(home):
    state = StackState("s", resources=[resource("a", outputs={"name": "a", "token": secret("t")}), resource("b")])
    state_store.save(state)
    events = []
    delete_resource(state, state.resources[0], events.append)
    assert calls("delete") == [("a-id", {"name": "a", "token": "t"}, {"pending": [("delete", "a")], "resources": ["a", "b"]})]
    assert [r.name for r in saved().resources] == ["b"] and saved().pending == []
    assert events == [
        {"kind": "resource-pre", "op": "delete", "urn": urn("a"), "type": TYPE, "name": "a"},
        {"kind": "resource-done", "op": "delete", "urn": urn("a"), "type": TYPE, "name": "a", "seconds": 2.5},
    ]


def test_a_failed_delete_keeps_the_resource_and_says_why(home):
    state = StackState("s", resources=[resource("a", Provider(fail={"delete"}))])
    events = []
    with pytest.raises(OperationFailed) as raised:
        delete_resource(state, state.resources[0], events.append)
    assert raised.value.message == "delete of 'a' failed: a refuses"
    assert [r.name for r in saved().resources] == ["a"] and saved().pending == []
    assert events[-1] == {"kind": "resource-failed", "op": "delete", "urn": urn("a"), "type": TYPE, "name": "a",
                          "message": "a refuses"}


def pending_create(state, name, provider=None, **extra):
    state.begin("create", urn(name), provider=blob(provider or Provider()), inputs={"name": name, **extra},
                type=TYPE, name=name)


def test_interrupted_creates_are_deleted_from_their_inputs_and_forgotten(home):
    state = StackState("s")
    state.begin("update", urn("u"))  # records that are not creates are skipped, not an end
    state.resources.append(resource("made"))
    pending_create(state, "made")  # finished creating: the resource is in state, no clean-up
    pending_create(state, "a", key=secret("k"))
    recover_pending_creates(state, lambda e: None)
    assert [c[:2] for c in calls("delete")] == [("", {"name": "a", "key": "k"})]
    assert [(p["op"], p["urn"]) for p in saved().pending] == [("update", urn("u")), ("create", urn("made"))]


def test_an_interrupted_create_that_cannot_be_cleaned_is_reported_and_kept(home):
    state = StackState("s")
    pending_create(state, "stuck", Provider(fail={"delete"}))
    pending_create(state, "b")
    events = []
    recover_pending_creates(state, events.append)
    assert events == [{"kind": "diagnostic",
                       "message": "interrupted create of 'stuck' may have left a resource behind: stuck refuses"}]
    assert [p["urn"] for p in saved().pending] == [urn("stuck")]  # b was cleaned even after stuck failed


# --- destroy_all ------------------------------------------------------------------------------


def test_destroy_cleans_an_interrupted_create_first_then_the_newest_resource(home):
    state = StackState("s", resources=[resource("net"), resource("app", depends_on=["net"])])
    pending_create(state, "half")
    assert destroy_all(state, lambda e: None) == {"delete": 2}
    assert [(c[0], c[1]) for c in calls("delete")] == [("", {"name": "half"}), ("app-id", {"name": "app"}),
                                                        ("net-id", {"name": "net"})]
    assert state.resources == [] and state.pending == []


def test_destroy_lists_every_resource_left_and_why(home):
    state = StackState("s", resources=[resource("group"), resource("net", parent=urn("group")),
                                       resource("app", Provider(fail={"delete"}), depends_on=["net"]),
                                       resource("logs")])
    state.begin("create", urn("nameless"), provider=blob(Provider(fail={"delete"})), inputs={})
    pending_create(state, "stuck", Provider(fail={"delete"}))
    events = []
    with pytest.raises(OperationFailed) as raised:
        destroy_all(state, events.append)
    assert raised.value.message == (
        "destroy deleted 1 resources and left 5: app (app refuses); net (still needed by a resource that is left); "
        "group (still needed by a resource that is left); "
        f"{urn('nameless')} (an interrupted create that could not be cleaned up); "
        "stuck (an interrupted create that could not be cleaned up)")
    assert raised.value.hint == "fix the cause and run destroy again; the stack stays registered until then"
    assert [r.name for r in saved().resources] == ["group", "net", "app"]
    assert events[0] == {"kind": "diagnostic",
                         "message": "interrupted create of None may have left a resource behind: None refuses"}


def test_an_interrupt_stops_destroy_before_the_next_delete(home):
    state = StackState("s", resources=[resource("net")])
    Interrupt.requested = True
    with pytest.raises(CancelledError):
        destroy_all(state, lambda e: None)
    assert not calls("delete")


# --- Planner: the offline plan ----------------------------------------------------------------


def test_the_plan_predicts_each_operation_without_running_one(home):
    state = StackState("s", resources=[resource("kept"), resource("changed", outputs={"name": "changed", "url": "u"}),
                                       resource("moved"), resource("gone1"), resource("gone2")])
    planner = Planner(state)
    same = Provider(diff=SimpleNamespace(changes=False))
    assert planner.register(registration("group", custom=False)) == ("", {})
    # unchanged (the provider says so): its outputs as they are, not the program's inputs
    assert planner.register(registration("kept", same, size=5)) == ("kept-id", {"name": "kept"})
    assert planner.register(registration("changed", Provider(diff=SimpleNamespace(changes=True)), size=2)) == \
        ("changed-id", {"name": "changed", "url": "u", "size": 2})
    assert planner.register(registration("moved", Provider(diff=SimpleNamespace(replaces=["zone"])), zone="b")) == \
        ("moved-id", {"name": "moved", "zone": "b"})
    assert planner.register(registration("new", key=secret("k"), token=UNKNOWN, __defaults=[])) == \
        ("", {"name": "new", "key": secret("k"), "token": UNKNOWN, "__defaults": []})
    assert planner.register(registration("bucket", type_="aws:s3/bucket:Bucket", parent=urn("group"))) == \
        ("bucket-id", {"__provider": planner.registered[-1].inputs["__provider"], "name": "bucket"})
    planner.finish()
    assert [(c.name, c.op, c.custom, c.diffs) for c in planner.changes] == [
        ("group", "same", False, ()), ("kept", "same", True, ()), ("changed", "update", True, ("size",)),
        ("moved", "replace", True, ("zone",)), ("new", "create", True, ()), ("bucket", "create", True, ()),
        ("gone2", "delete", True, ()), ("gone1", "delete", True, ())]
    new = planner.changes[4]
    assert new.inputs == {"name": "new", "key": "[secret]", "token": "(known after apply)"}  # never the provider blob
    assert (new.urn, new.type, planner.changes[5].parent) == (urn("new"), TYPE, urn("group"))
    assert (planner.changes[6].urn, planner.changes[6].type) == (urn("gone2"), TYPE)
    assert planner.foreign == ["aws:s3/bucket:Bucket"]
    assert [r.name for r in planner.registered] == ["kept", "changed", "moved", "new", "bucket"]
    assert CALLS and not calls("create") and not calls("update") and not calls("delete")
    assert not state_store.exists("s")  # a plan writes nothing


# --- refresh_all ---------------------------------------------------------------------------------


def test_refresh_forgets_what_is_gone_and_records_what_changed(home):
    state = StackState("s", resources=[
        resource("gone", Provider(read=SimpleNamespace(id=None))),
        resource("drifted", Provider(read=SimpleNamespace(id="drifted-id", outs={"name": "drifted", "size": 3})),
                 outputs={"name": "drifted", "token": secret("t")}),
        resource("same", Provider(read=SimpleNamespace(id="same-id", outs={"name": "same", "token": "t"})),
                 outputs={"name": "same", "token": secret("t")}),
        resource("quiet", Provider(read=SimpleNamespace(id="quiet-id", outs=None))),
        resource("silent", Provider(read=None)),  # a read that returns nothing: the resource is gone
    ])
    events = []
    assert refresh_all(state, events.append) == {"missing": ["gone", "silent"], "changed": ["drifted"]}
    assert calls("read")[1] == ("drifted-id", {"name": "drifted", "token": "t"})
    assert events == [{"kind": "diagnostic", "message": f"gone ({TYPE}) no longer exists"},
                      {"kind": "diagnostic", "message": f"silent ({TYPE}) no longer exists"}]
    assert [(r.name, r.outputs) for r in saved().resources] == [
        ("drifted", {"name": "drifted", "size": 3}), ("same", {"name": "same", "token": secret("t")}),
        ("quiet", {"name": "quiet"})]
