"""Deploy, destroy and refresh in this process, on the `files` fixture recipe and the embedded engine.

The CLI tests run these through subprocesses, where mutation testing cannot see them; these
call ``lifecycle`` directly and check what a user relies on: the stack config and registry
record a deploy writes, what a failure leaves behind, the history a destroy keeps, the
prod relabelling guard and the stack's lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from zenprovision import lifecycle
from zenprovision.engines.embedded import state
from zenprovision.engines.pulumi_cli import records as pulumi_records
from zenprovision.errors import InputError, LockLostError, NotFoundError, OperationFailed, StackLockedError
from zenprovision.recipes.catalog import Catalog
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.stacks import registry, store
from zenprovision.stacks.config import Labels, StackConfig

COMPONENTS = {"artifact_store": {"flavor": "s3", "config": {"bucket": "b"}},
              "orchestrator": {"flavor": "local", "config": {}}, "model_server": {"flavor": "none", "config": {}}}


class Events:
    """An engine event handler that notes, at each event, the stack's status in the registry."""

    def __init__(self, stack: str) -> None:
        self.stack, self.seen = stack, []

    def __call__(self, event) -> None:  # noqa: ANN001 - an EngineEvent
        record = registry.load(self.stack)
        self.seen.append((record.status, record.last.op, record.last.result) if record else None)


def deploy(folder, stack: str = "s1", *pairs: str, **labels):
    deployment = lifecycle.prepare(Catalog(), "files", stack, (f"dir={folder}", *pairs), **labels)
    return lifecycle.apply(deployment, Events(stack))


# --- deploy ----------------------------------------------------------------------------------


def test_a_deploy_writes_the_stack_config_and_an_active_record(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    deployment = lifecycle.prepare(Catalog(), "files", "s1", (f"dir={folder}", "files=a"),
                                   env="staging", owner="carol", ttl="2h")
    assert deployment.request.labels == {"stack": "s1", "recipe": "files", "env": "staging", "owner": "carol"}
    assert deployment.request.config["files"] == ["a"] and deployment.engine.name == "embedded"
    events = Events("s1")
    result, config = lifecycle.apply(deployment, events)

    assert result.counts == {"create": 2}
    assert (folder / "a").read_text() == "hello" and (folder / "index").exists()
    assert events.seen and set(events.seen) == {("deploying", "deploy", "running")}  # `provision stacks` while it runs
    assert store.load("s1") == config
    record = registry.load("s1")
    assert (config.name, config.recipe, config.engine) == ("s1", "files", "embedded")
    assert (config.labels.env, config.labels.owner, config.labels.ttl) == ("staging", "carol", "2h")
    assert config.components.artifact_store.config == {"path": folder.as_uri()}
    assert config.components.model_server.config == {"index": str(folder / "index")}
    assert config.created_at == record.created_at
    assert (record.name, record.recipe, record.engine, record.status) == ("s1", "files", "embedded", "active")
    assert (record.env, record.owner, record.ttl) == ("staging", "carol", "2h")
    assert [(o.op, o.result, o.error) for o in record.operations] == [("deploy", "succeeded", "")]


def test_a_redeploy_keeps_the_stack_and_takes_new_labels(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    _, first = deploy(folder, "s1", owner="carol")
    _, second = deploy(folder, "s1", "content=new", owner="dave")
    assert (folder / "a").read_text() == "new"
    record = registry.load("s1")
    assert second.created_at == first.created_at == record.created_at
    assert second.labels.owner == record.owner == "dave"
    assert [o.op for o in record.operations] == ["deploy", "deploy"]
    # an older home knew the stack by its config alone: a redeploy keeps its creation time
    registry.remove("s1")
    _, third = deploy(folder, "s1")
    assert third.created_at == first.created_at == registry.load("s1").created_at
    assert third.labels.owner == "dave"


def test_a_failed_first_deploy_leaves_no_config_and_records_the_error(home, fixture_recipes, tmp_path):
    with pytest.raises(OperationFailed, match="cannot create b"):
        deploy(tmp_path / "files", "s1", "fail_on=b")
    assert not store.exists("s1")
    record = registry.load("s1")
    assert record.status == "deploy-failed" and record.recipe == "files"
    assert record.last.op == "deploy" and record.last.result == "failed" and "cannot create b" in record.last.error
    _, config = deploy(tmp_path / "files", "s1")  # the retry: its ttl counts from the first attempt
    assert config.created_at == record.created_at == registry.load("s1").created_at


def test_a_failed_redeploy_keeps_the_config_it_had(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    _, before = deploy(folder, "s1")
    with pytest.raises(OperationFailed, match="cannot create c"):
        deploy(folder, "s1", "files=a,b,c", "fail_on=c", owner="dave")
    assert store.load("s1") == before
    assert registry.load("s1").status == "deploy-failed"


LEAKY_PROGRAM = '''
import pulumi

config = pulumi.Config()
if config.get("export") == "no-flavor":
    pulumi.export("stack", {"artifact_store": {"flavor": "local", "config": {}}, "orchestrator": {"config": {}},
                            "model_server": {"flavor": "none", "config": {}}})
elif config.get("export") != "nothing":
    pulumi.export("stack", {
        "artifact_store": {"flavor": "local", "config": {"path": "file:///tmp/x"}},
        "orchestrator": {"flavor": "local", "config": {}},
        "model_server": {"flavor": "none", "config": {"token": config.require("token")}},
    })
'''


@pytest.fixture
def leaky(tmp_path) -> Catalog:
    """A recipe whose `stack` output is missing or carries a plaintext token, as its config says."""
    folder = tmp_path / "recipes" / "leaky"
    folder.mkdir(parents=True)
    (folder / "__main__.py").write_text(LEAKY_PROGRAM)
    (folder / "recipe.yaml").write_text("cloud: local\nengine: embedded\ncomponents:\n  artifact_store: local\n"
                                        "  orchestrator: local\n  model_server: none\n")
    (folder / "Pulumi.yaml").write_text(textwrap.dedent("""\
        name: leaky
        runtime:
          name: python
        description: Test recipe - a stack output that is missing or holds a secret.
        config:
          export: {type: string, default: stack, description: nothing leaves the output out.}
          token: {type: string, default: "", description: what the model server's token is.}
        """))
    return Catalog([folder.parent])


def test_a_plaintext_secret_in_the_stack_output_is_refused_and_written_nowhere(home, leaky):
    secret = "hunter2-plaintext-0451"
    deployment = lifecycle.prepare(leaky, "leaky", "s1", (f"token={secret}",))
    with pytest.raises(OperationFailed) as failed:
        lifecycle.apply(deployment, Events("s1"))
    assert failed.value.message.startswith("recipe 'leaky' exported an invalid stack: components: ")
    assert "model_server.config.token" in failed.value.message and secret not in failed.value.message
    assert failed.value.hint == "fix the recipe's `stack` output; resources were created and are in state"
    assert not store.exists("s1") and registry.load("s1").status == "deploy-failed"
    for path in (home / "stacks").rglob("*"), (home / "registry").rglob("*"):
        assert not [p for p in path if p.is_file() and secret in p.read_text()]


def test_an_invalid_stack_output_is_reported_by_its_field(home, leaky):
    deployment = lifecycle.prepare(leaky, "leaky", "s1", ("export=no-flavor",))
    with pytest.raises(OperationFailed) as failed:
        lifecycle.apply(deployment, Events("s1"))
    assert failed.value.message == "recipe 'leaky' exported an invalid stack: components.orchestrator.flavor: Field required"
    assert not store.exists("s1")


def test_a_recipe_without_a_stack_output_fails_with_the_fix(home, leaky):
    deployment = lifecycle.prepare(leaky, "leaky", "s1", ("export=nothing",))
    with pytest.raises(OperationFailed) as failed:
        lifecycle.apply(deployment, Events("s1"))
    assert failed.value.message == "recipe 'leaky' did not export a `stack` output"
    assert failed.value.hint == "every recipe must pulumi.export('stack', {...components...})"
    assert not store.exists("s1")
    assert registry.load("s1").last.error.startswith("recipe 'leaky' did not export a `stack` output")


def test_a_stack_deployed_from_one_recipe_is_not_redeployed_from_another(home, fixture_recipes, tmp_path):
    deploy(tmp_path / "files", "s1")
    stored = registry.load("s1")

    def refused() -> InputError:
        with pytest.raises(InputError) as caught:
            lifecycle.prepare(Catalog(), "cloudish", "s1", ("bucket_name=b",))
        return caught.value

    assert refused().message == "stack 's1' was deployed from recipe 'files', not 'cloudish'"
    assert refused().hint == "destroy it first (`provision destroy s1`) or choose another stack name"
    registry.remove("s1")  # known by its config only
    assert "from recipe 'files'" in refused().message
    registry.save(stored)
    store.remove("s1")  # known by its record only (a first deploy that failed)
    assert "from recipe 'files'" in refused().message
    assert lifecycle.prepare(Catalog(), "files", "s1", (f"dir={tmp_path}",)).request.recipe.name == "files"


def test_a_deployed_prod_stack_cannot_be_relabelled(home, fixture_recipes, tmp_path):
    _, config = deploy(tmp_path / "files", "p1", env="prod", owner="ops")
    with pytest.raises(InputError) as refused:
        lifecycle.prepare(Catalog(), "files", "p1", (f"dir={tmp_path / 'files'}",), env="staging")
    assert refused.value.message == "a prod stack cannot be relabelled to another env"
    assert refused.value.hint == "destroy it (provision destroy STACK --force) and deploy it again"
    assert store.load("p1") == config and registry.load("p1").env == "prod"
    _, again = deploy(tmp_path / "files", "p1", env="prod")
    assert again.labels.env == "prod"


def test_bad_config_is_refused_naming_the_recipe_before_anything_is_written(home, fixture_recipes):
    with pytest.raises(InputError) as refused:
        lifecycle.prepare(Catalog(), "files", "s1", ())
    assert refused.value.message.startswith("recipe 'files' needs config key 'dir'")
    with pytest.raises(InputError, match="config key 'generation' of recipe 'files' must be integer"):
        lifecycle.prepare(Catalog(), "files", "s1", ("dir=/x", "generation=two"))
    assert registry.load("s1") is None and not store.exists("s1")


def test_a_plan_lists_what_a_deploy_would_create_and_writes_nothing(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    planned = lifecycle.plan(lifecycle.prepare(Catalog(), "files", "s1", (f"dir={folder}", "files=a")))
    assert sorted((c.name, c.op) for c in planned.changes if c.custom) == [("a", "create"), ("index", "create")]
    assert planned.outputs["stack"]["artifact_store"] == {"flavor": "local", "config": {"path": folder.as_uri()}}
    assert not (folder / "a").exists() and registry.load("s1") is None and not store.exists("s1")


def test_offline_plans_with_the_embedded_engine(home):
    online = lifecycle.prepare(Catalog(), "aws-k8s", "k1", (), backend="file:///srv/state")
    assert online.engine.name == "pulumi" and online.engine.backend == "file:///srv/state"
    assert lifecycle.prepare(Catalog(), "aws-k8s", "k1", (), offline=True).engine.name == "embedded"


def test_a_new_stack_is_owned_by_unknown_when_the_user_has_no_name(home, fixture_recipes, tmp_path, monkeypatch):
    def nameless() -> str:
        raise KeyError("getpwuid(): uid not found: 1234")

    monkeypatch.setattr(lifecycle.getpass, "getuser", nameless)
    assert lifecycle.prepare(Catalog(), "files", "s1", (f"dir={tmp_path}",)).labels.owner == "unknown"


# --- the stack's lock --------------------------------------------------------------------------

HOLD_LOCK = """
import sys
from zenprovision.locks import StackLock
with StackLock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder():
    """Another process holding a stack's lock, as a deploy in another terminal does."""
    started = []

    def hold(stack: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, stack], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in started:
        proc.stdin.close()
        proc.wait(timeout=60)


def test_a_deploy_of_a_locked_stack_is_refused_naming_the_holder(home, fixture_recipes, tmp_path, holder):
    proc = holder("s1")
    deployment = lifecycle.prepare(Catalog(), "files", "s1", (f"dir={tmp_path / 'files'}",))
    with pytest.raises(StackLockedError, match=rf"stack 's1' is locked by PID {proc.pid} "):
        lifecycle.apply(deployment, Events("s1"))
    assert registry.load("s1") is None and not store.exists("s1") and not (tmp_path / "files").exists()


def test_a_destroy_of_a_locked_stack_is_refused_naming_the_holder(home, fixture_recipes, tmp_path, holder):
    folder = tmp_path / "files"
    deploy(folder, "s1")
    proc = holder("s1")
    with pytest.raises(StackLockedError, match=rf"stack 's1' is locked by PID {proc.pid} "):
        lifecycle.destroy("s1", Events("s1"))
    assert store.exists("s1") and (folder / "a").exists()
    assert registry.load("s1").status == "active" and registry.load("s1").last.op == "deploy"


# --- destroy -----------------------------------------------------------------------------------


def test_destroy_removes_the_resources_and_the_config_and_keeps_the_history(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    deploy(folder, "s1", env="staging", owner="carol")
    events = Events("s1")
    result = lifecycle.destroy("s1", events, command="teardown")
    assert result.counts == {"delete": 3}
    assert events.seen and set(events.seen) == {("destroying", "destroy", "running")}
    assert not [p.name for p in folder.iterdir() if p.name != "operations.log"]
    assert not store.exists("s1") and registry.load("s1") is None and not state.exists("s1")
    [kept] = registry.history("s1")
    assert (kept.status, kept.recipe, kept.env, kept.owner) == ("destroyed", "files", "staging", "carol")
    assert [(o.op, o.result, o.command) for o in kept.operations][1:] == [("destroy", "succeeded", "teardown")]
    assert lifecycle.labels_of("s1") == ("dev", "")
    with pytest.raises(NotFoundError) as gone:
        lifecycle.destroy("s1", Events("s1"))
    assert (gone.value.message, gone.value.hint) == ("no stack named 's1'", "see `provision stacks`")


def test_a_failed_destroy_keeps_the_config_and_the_next_one_finishes(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    _, config = deploy(folder, "s1")
    (folder / ".refuse-delete-a").touch()
    with pytest.raises(OperationFailed, match="a is protected by a marker"):
        lifecycle.destroy("s1", Events("s1"))
    assert store.load("s1") == config
    record = registry.load("s1")
    assert record.status == "destroy-failed" and record.last.op == "destroy"
    assert record.last.result == "failed" and "a is protected by a marker" in record.last.error
    (folder / ".refuse-delete-a").unlink()
    lifecycle.destroy("s1", Events("s1"))
    assert not store.exists("s1") and not (folder / "a").exists()
    assert [o.result for o in registry.history("s1")[0].operations] == ["succeeded", "failed", "succeeded"]


def damage_state(stack: str) -> None:
    state.state_path(stack).write_text("{not json")


def test_a_destroy_refused_on_a_damaged_state_leaves_the_record_as_it_was(home, fixture_recipes, tmp_path):
    _, config = deploy(tmp_path / "files", "s1", owner="carol")
    damage_state("s1")
    with pytest.raises(InputError, match="engine state .* is damaged"):
        lifecycle.destroy("s1", Events("s1"))
    assert store.load("s1") == config
    record = registry.load("s1")
    assert record.status == "active" and record.owner == "carol"  # not left "destroying"
    assert record.last.op == "destroy" and record.last.result == "failed" and "is damaged" in record.last.error
    # a stack known only by its state (a first deploy stopped before it was registered)
    registry.remove("s1")
    store.remove("s1")
    with pytest.raises(InputError, match="engine state .* is damaged"):
        lifecycle.destroy("s1", Events("s1"))
    assert registry.load("s1") is None and registry.history("s1") == []


def test_destroy_of_a_stack_known_by_its_config_only_keeps_its_labels_in_the_history(home, fixture_recipes,
                                                                                     tmp_path):
    _, config = deploy(tmp_path / "files", "s1", env="staging", owner="carol", ttl="3d")
    registry.remove("s1")  # an older home: stack configs, no registry
    assert lifecycle.labels_of("s1") == ("staging", "carol")
    lifecycle.destroy("s1", Events("s1"))
    [kept] = registry.history("s1")
    assert (kept.name, kept.recipe, kept.engine, kept.status) == ("s1", "files", "embedded", "destroyed")
    assert (kept.env, kept.owner, kept.ttl, kept.created_at) == ("staging", "carol", "3d", config.created_at)


def test_destroy_of_a_stack_known_by_its_state_only(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    deploy(folder, "s1", env="staging", owner="carol")
    registry.remove("s1")
    store.remove("s1")
    lifecycle.destroy("s1", Events("s1"))
    assert not (folder / "a").exists() and not state.exists("s1")
    [kept] = registry.history("s1")
    assert (kept.recipe, kept.engine, kept.env, kept.owner, kept.ttl) == ("unknown", "embedded", "dev", "", None)


def test_labels_of_come_from_the_record_then_the_config(home, fixture_recipes, tmp_path):
    deploy(tmp_path / "files", "s1", env="staging", owner="carol")
    record = registry.load("s1")
    record.env, record.owner = "prod", "ops"
    registry.save(record)
    assert lifecycle.labels_of("s1") == ("prod", "ops")


# --- refresh -----------------------------------------------------------------------------------


def test_refresh_reports_drift_and_keeps_the_status(home, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    deploy(folder, "s1", owner="carol")
    (folder / "a").unlink()
    events = Events("s1")
    report = lifecycle.refresh("s1", events)
    assert report.checked == 3 and len(report.missing) == 1 and report.missing[0].endswith("a")
    assert events.seen and set(events.seen) == {("active", "refresh", "running")}
    record = registry.load("s1")
    assert record.status == "active" and [o.op for o in record.operations] == ["deploy", "refresh"]
    assert record.last.result == "succeeded"
    record.status, record.owner = "destroy-failed", "ops"  # the record, not the config, says who and how
    registry.save(record)
    lifecycle.refresh("s1", Events("s1"))
    assert (registry.load("s1").status, registry.load("s1").owner) == ("destroy-failed", "ops")


def test_a_failed_refresh_records_the_error_and_keeps_the_status(home, fixture_recipes, tmp_path):
    deploy(tmp_path / "files", "s1")
    damage_state("s1")
    with pytest.raises(InputError, match="engine state .* is damaged"):
        lifecycle.refresh("s1", Events("s1"))
    record = registry.load("s1")
    assert record.status == "active" and record.last.op == "refresh"
    assert record.last.result == "failed" and "is damaged" in record.last.error


def test_refresh_of_a_stack_known_by_its_config_only_registers_it(home, fixture_recipes, tmp_path):
    _, config = deploy(tmp_path / "files", "s1", env="staging", owner="carol")
    registry.remove("s1")
    lifecycle.refresh("s1", Events("s1"))
    record = registry.load("s1")
    assert (record.recipe, record.engine, record.env, record.owner) == ("files", "embedded", "staging", "carol")
    assert record.status == "active" and record.created_at == config.created_at
    assert [(o.op, o.result) for o in record.operations] == [("refresh", "succeeded")]


# --- what a broken progress handler or a lost lock leaves ------------------------------------


class Failing:
    """A progress handler that raises ``error`` at its first event (a closed terminal: BrokenPipeError)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __call__(self, event) -> None:  # noqa: ANN001 - an EngineEvent
        raise self.error


def test_a_deploy_stopped_by_an_error_without_a_message_records_its_kind(home, fixture_recipes, tmp_path):
    deployment = lifecycle.prepare(Catalog(), "files", "s1", (f"dir={tmp_path / 'files'}",))
    with pytest.raises(BrokenPipeError):
        lifecycle.apply(deployment, Failing(BrokenPipeError()))
    record = registry.load("s1")
    assert record.status == "deploy-failed" and not store.exists("s1")
    assert (record.last.op, record.last.result, record.last.error) == ("deploy", "failed", "BrokenPipeError")


def test_a_deploy_that_lost_its_lock_leaves_the_record_to_the_new_holder(home, fixture_recipes, tmp_path):
    deployment = lifecycle.prepare(Catalog(), "files", "s1", (f"dir={tmp_path / 'files'}",))
    with pytest.raises(LockLostError):
        lifecycle.apply(deployment, Failing(LockLostError("stack 's1': this command lost its lock")))
    record = registry.load("s1")
    assert record.status == "deploying" and record.last.result == "running" and not store.exists("s1")


def test_a_refresh_stopped_by_an_error_without_a_message_records_its_kind(home, fixture_recipes, tmp_path):
    deploy(tmp_path / "files", "s1")
    (tmp_path / "files" / "a").unlink()  # drift: refresh has something to say
    with pytest.raises(BrokenPipeError):
        lifecycle.refresh("s1", Failing(BrokenPipeError()))
    record = registry.load("s1")
    assert record.status == "active"
    assert (record.last.op, record.last.result, record.last.error) == ("refresh", "failed", "BrokenPipeError")


@pytest.mark.parametrize("known_by", ["record", "config", "pulumi record"])
def test_a_pulumi_stack_is_destroyed_with_the_pulumi_engine_and_the_backend_given(home, known_by):
    """Whichever file still knows the stack, destroy and refresh reach its backend, not the default one."""
    if known_by == "record":
        registry.save(registry.StackRecord(name="p1", recipe="aws-k8s", engine="pulumi", created_at=registry.now()))
    elif known_by == "config":
        store.save(StackConfig(name="p1", recipe="aws-k8s", engine="pulumi", created_at=registry.now(),
                               labels=Labels(env="dev", owner="ops"), components=COMPONENTS))
    else:
        pulumi_records.save(pulumi_records.StackRecord(stack="p1", recipe="aws-k8s", recipe_path="/r",
                                                       project="aws-k8s", backend="file:///srv/state", work_dir="/w"))
    engine = lifecycle._engine_for("p1", "file:///srv/state")
    assert engine.name == "pulumi" and engine.backend == "file:///srv/state"


def test_a_refresh_with_a_bad_backend_is_refused_before_anything_is_recorded(home):
    registry.save(registry.StackRecord(name="p1", recipe="aws-k8s", engine="pulumi", created_at=registry.now(),
                                       status="active"))
    with pytest.raises(InputError, match="ftp://x"):
        lifecycle.refresh("p1", Events("p1"), backend="ftp://x")
    assert registry.load("p1").operations == []


# --- pipeline runs on the stack ------------------------------------------------------------------

RUN = """
import sys
from zenprovision.locks import RunLease
from zenprovision.runtime.metadata import MetadataStore

stack, run_id = sys.argv[1:3]
meta = MetadataStore(stack)
meta.start_run(run_id, "train", "pipeline.py", stack, {}, None)
meta.close()
with RunLease(stack, run_id):
    print("running", flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
"""


@pytest.fixture
def pipeline_run():
    """A pipeline run in another process, holding its lease on the stack until stopped."""
    started = []

    def start(stack: str, run_id: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", RUN, stack, run_id], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == "running"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.stdin.close()
        proc.wait(timeout=60)


def test_destroy_refuses_a_stack_a_run_is_using_and_force_aborts_the_run(home, fixture_recipes, tmp_path,
                                                                         pipeline_run):
    folder = tmp_path / "files"
    _, config = deploy(folder, "s1")
    run = pipeline_run("s1", "r7")
    with pytest.raises(StackLockedError) as refused:
        lifecycle.destroy("s1", Events("s1"))
    assert refused.value.message == "stack 's1' is in use by run r7"
    assert refused.value.hint == "wait for it to finish, or abort it: provision destroy s1 --force"
    assert store.load("s1") == config and registry.load("s1").last.op == "deploy" and run.poll() is None

    lifecycle.destroy("s1", Events("s1"), force=True)
    assert run.stdout.readline().strip() == "interrupted" and run.wait(timeout=60) == 130
    assert not store.exists("s1") and not (folder / "a").exists()
    meta = MetadataStore("s1")
    try:
        aborted = meta.run("r7")
    finally:
        meta.close()
    assert (aborted["status"], aborted["error"]) == ("aborted", "aborted by `provision destroy --force`")


SHARED_RUN = """
import sys
from zenprovision import home
from zenprovision.locks import RunLease
from zenprovision.locks.lease import read

stack, run_id = sys.argv[1:3]
lease = RunLease(stack, run_id).acquire()
print("running", flush=True)
try:
    sys.stdin.read()
except KeyboardInterrupt:  # its heartbeat found the abort request
    print("interrupted:", read(home.objects(), lease.key)[1].abort, flush=True)
    lease.release()
    sys.exit(130)
"""


def test_destroy_force_on_a_shared_home_asks_a_run_on_any_machine_to_stop(moto_server, s3_client, fixture_recipes,
                                                                         tmp_path, monkeypatch):
    """In a shared home the run may be on another machine: destroy --force leaves it an abort request."""
    from tests.servers import unique_bucket_name

    bucket = unique_bucket_name("abort")
    s3_client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("ZENPROVISION_HOME", f"s3://{bucket}/zp")
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "here"))
    monkeypatch.setenv("ZENPROVISION_LEASE_SECONDS", "3")
    folder = tmp_path / "files"
    deploy(folder, "s1", "files=a")
    run = subprocess.Popen([sys.executable, "-c", SHARED_RUN, "s1", "r9"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "ZENPROVISION_LOCAL_HOME": str(tmp_path / "there")})
    try:
        assert run.stdout.readline().strip() == "running"
        with pytest.raises(StackLockedError, match="stack 's1' is in use by run r9"):
            lifecycle.destroy("s1", Events("s1"))
        lifecycle.destroy("s1", Events("s1"), force=True)
        assert run.stdout.readline().strip() == "interrupted: `provision destroy --force`"
        assert run.wait(timeout=60) == 130
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert not store.exists("s1") and not (folder / "a").exists()
