"""The pulumi engine's own logic, without the CLI: config, backend, passphrase, events, errors.

The engine is driven through its public methods with fake SDK stacks that replay real
``pulumi.automation.events`` objects; the last tests need the real CLI and are skipped
where it is not installed.
"""

from __future__ import annotations

import _thread
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pulumi import automation as auto
from pulumi.automation.errors import create_command_error

from tests.conftest import FIXTURE_RECIPES
from zenprovision.engines.base import DeployRequest, EngineEvent
from zenprovision.engines.pulumi_cli import (
    PulumiEngine,
    backend,
    config,
    failures,
    interrupt,
    passphrase,
    paths,
    plugins,
    records,
    session,
    workdir,
)
from zenprovision.engines.pulumi_cli.events import EventSink, summarize
from zenprovision.errors import (
    CancelledError,
    InputError,
    NotFoundError,
    OperationFailed,
    StackLockedError,
    UnsupportedError,
)
from zenprovision.policy import pack_path
from zenprovision.recipes.recipe import load_recipe
from zenprovision.recipes.schema import ConfigKey
from zenprovision.stacks.config import Labels

needs_cli = pytest.mark.skipif(shutil.which("pulumi") is None, reason="the pulumi CLI is not installed")

STACK_URN = "urn:pulumi:dev::files::pulumi:pulumi:Stack::files-dev"
FILE_TYPE = "pulumi-python:dynamic/test:File"


def urn(name: str, type_: str = FILE_TYPE) -> str:
    return f"urn:pulumi:dev::files::{type_}::{name}"


# ---- real SDK events, in the CLI's wire format ------------------------------------------------

def _metadata(op, name, type_=FILE_TYPE, custom=True, inputs=None, diffs=None, gone=False):
    state = {"type": type_, "urn": urn(name, type_), "id": "", "parent": STACK_URN, "provider": "",
             "inputs": inputs or {}}
    if custom:
        state["custom"] = True  # the CLI omits the field when false
    meta = {"op": op, "urn": urn(name, type_), "type": type_, "provider": "", "old" if gone else "new": state}
    if diffs:
        meta["diffs"] = diffs
    return meta


def pre(op, name, **kw):
    return auto.EngineEvent.from_json({"sequence": 1, "timestamp": 0,
                                       "resourcePreEvent": {"metadata": _metadata(op, name, **kw), "planning": True}})


def done(op, name, **kw):
    return auto.EngineEvent.from_json({"sequence": 2, "timestamp": 0,
                                       "resOutputsEvent": {"metadata": _metadata(op, name, **kw)}})


def failed(op, name, **kw):
    return auto.EngineEvent.from_json({"sequence": 3, "timestamp": 0, "resOpFailedEvent": {
        "metadata": _metadata(op, name, **kw), "status": 1, "steps": 0}})


def diagnostic(message, severity="error", name=None):
    body = {"message": message, "color": "raw", "severity": severity}
    if name:
        body["urn"] = urn(name)
    return auto.EngineEvent.from_json({"sequence": 4, "timestamp": 0, "diagnosticEvent": body})


def stack_pre(op="create"):
    meta = {"op": op, "urn": STACK_URN, "type": "pulumi:pulumi:Stack", "provider": "",
            "new": {"type": "pulumi:pulumi:Stack", "urn": STACK_URN, "id": "", "parent": "", "provider": ""}}
    return auto.EngineEvent.from_json({"sequence": 0, "timestamp": 0, "resourcePreEvent": {"metadata": meta}})


def command_error(stderr: str, stdout: str = "") -> auto.CommandError:
    """Classified by the SDK itself, as it does with a failed CLI command."""
    return create_command_error(auto.CommandResult(stdout=stdout, stderr=stderr, code=255))


# ---- config -----------------------------------------------------------------------------------

def test_config_values_become_typed_strings_with_the_schema_secret_flags():
    schema = {
        "region": ConfigKey("region", "string", "d"),
        "token": ConfigKey("token", "string", "d", secret=True),
        "workers": ConfigKey("workers", "integer", "d"),
        "ratio": ConfigKey("ratio", "number", "d"),
        "public": ConfigKey("public", "boolean", "d"),
        "zones": ConfigKey("zones", "array", "d"),
        "unset": ConfigKey("unset", "string", "d"),
    }
    values = {"region": "eu-west-1", "token": "s3cr3t", "workers": 4, "ratio": 0.5, "public": False,
              "zones": ["a", "b"], "unset": None}
    settings = config.stack_settings("aws-k8s", schema, values, {"env": "prod", "owner": "ana"})
    assert {k: (s.value, s.secret) for k, s in settings.items()} == {
        "aws-k8s:region": ("eu-west-1", False),
        "aws-k8s:token": ("s3cr3t", True),
        "aws-k8s:workers": ("4", False),
        "aws-k8s:ratio": ("0.5", False),
        "aws-k8s:public": ("false", False),
        "aws-k8s:zones": ('["a", "b"]', False),
        "zenprovision:env": ("prod", False),
        "zenprovision:owner": ("ana", False),
    }
    assert "s3cr3t" not in repr(settings)


def test_booleans_are_not_numbers_and_maps_are_json():
    assert config.to_config_string(True) == "true"
    assert config.to_config_string(1) == "1"
    assert json.loads(config.to_config_string({"a": [1, 2]})) == {"a": [1, 2]}


def test_labels_from_the_stack_config_model_and_empty_ones_skipped():
    settings = config.stack_settings("p", {}, {}, Labels(env="dev", owner=""))
    assert {k: s.value for k, s in settings.items()} == {"zenprovision:env": "dev"}
    assert config.stack_settings("p", {}, {}, None) == {}


def test_stale_keys_are_only_ours():
    current = {"p:old": 1, "p:kept": 1, "zenprovision:ttl": 1, "aws:region": 1}
    wanted = {"p:kept": config.Setting("x")}
    assert config.stale_keys(current, wanted, "p") == ["p:old", "zenprovision:ttl"]


# ---- backend ----------------------------------------------------------------------------------

def test_default_backend_is_a_folder_under_the_home_created_only_when_used(home, monkeypatch):
    monkeypatch.delenv(backend.BACKEND_ENV, raising=False)
    url = PulumiEngine().backend
    assert url == f"file://{home}/pulumi/state"
    assert not home.exists()
    backend.prepare(url)
    assert (home / "pulumi" / "state").is_dir()


def test_shared_backend_from_env_or_argument(home, monkeypatch):
    monkeypatch.setenv(backend.BACKEND_ENV, "s3://team-state")
    monkeypatch.setenv(passphrase.PASSPHRASE_ENV, "the team's")  # a shared backend needs it
    assert PulumiEngine().backend == "s3://team-state"
    assert PulumiEngine(backend="gs://other").backend == "gs://other"
    for url in ("azblob://container", "https://api.pulumi.com", "file:///srv/state"):
        assert backend.validate(url) == url
    backend.prepare("s3://team-state")
    assert not home.exists()


@pytest.mark.parametrize("url", ["http://api.pulumi.com", "ftp://x", "my-bucket", "s3://", "file://"])
def test_bad_backend_urls_are_input_errors_with_a_hint(home, url):
    with pytest.raises(InputError) as caught:
        PulumiEngine(backend=url)
    assert caught.value.exit_code == 2
    assert "s3://" in caught.value.hint


def test_lock_hint_names_the_backends_lock_folder_or_pulumi_cancel():
    assert "/srv/state/.pulumi/locks/" in backend.describe_locks("file:///srv/state")
    assert "s3://b/.pulumi/locks/" in backend.describe_locks("s3://b")
    assert "pulumi cancel" in backend.describe_locks("https://api.pulumi.com")


# ---- passphrase -------------------------------------------------------------------------------

@pytest.fixture
def no_user_passphrase(monkeypatch):
    monkeypatch.delenv(passphrase.PASSPHRASE_ENV, raising=False)
    monkeypatch.delenv(passphrase.PASSPHRASE_FILE_ENV, raising=False)


def test_generated_passphrase_is_0600_stable_and_only_its_path_is_passed(home, no_user_passphrase):
    env = session.workspace_env("file:///x")
    path = Path(env[passphrase.PASSPHRASE_FILE_ENV])
    assert path == home / "pulumi" / "passphrase"
    secret = path.read_text()
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert session.workspace_env("file:///x") == env and path.read_text() == secret
    assert env["PULUMI_BACKEND_URL"] == "file:///x"
    assert not any(secret in value for value in env.values())
    assert [p.name for p in path.parent.iterdir()] == ["passphrase"]  # no temp file left


def test_the_passphrase_file_is_complete_and_0600_before_it_appears(home, no_user_passphrase, monkeypatch):
    old_umask = os.umask(0o000)  # even with a permissive umask
    seen = {}
    real_link = os.link

    def spy(src, dst):
        seen["mode"] = stat.S_IMODE(os.stat(src).st_mode)
        seen["content"] = Path(src).read_text()
        real_link(src, dst)

    monkeypatch.setattr(os, "link", spy)
    try:
        path = passphrase.ensure_passphrase_file(paths.passphrase_file())
    finally:
        os.umask(old_umask)
    assert seen["mode"] == 0o600 and seen["content"] == path.read_text() != ""


def test_a_racing_process_keeps_its_passphrase(home, no_user_passphrase, monkeypatch):
    target = paths.passphrase_file()

    def lose_the_race(src, dst):
        Path(dst).write_text("theirs")
        raise FileExistsError(dst)

    monkeypatch.setattr(os, "link", lose_the_race)
    passphrase.ensure_passphrase_file(target)
    assert target.read_text() == "theirs"
    assert [p.name for p in target.parent.iterdir()] == ["passphrase"]


def test_programs_and_the_policy_pack_run_on_this_python(home, monkeypatch):
    monkeypatch.delenv("PULUMI_PYTHON_CMD", raising=False)
    env = session.workspace_env("file:///x")
    assert env["PULUMI_PYTHON_CMD"] == sys.executable
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


@pytest.mark.parametrize("variable", [passphrase.PASSPHRASE_ENV, passphrase.PASSPHRASE_FILE_ENV])
def test_the_users_passphrase_wins_and_nothing_is_generated(home, no_user_passphrase, monkeypatch, variable):
    monkeypatch.setenv(variable, "users-own")
    env = session.workspace_env("file:///x")
    assert passphrase.PASSPHRASE_FILE_ENV not in env and passphrase.PASSPHRASE_ENV not in env
    assert not home.exists()


# ---- events -----------------------------------------------------------------------------------

def test_resource_events_become_engine_events():
    got: list[EngineEvent] = []
    sink = EventSink(got.append, mode="apply")
    for event in (stack_pre(), pre("create", "a"), pre("same", "b"), pre("create", "group", custom=False),
                  done("create", "a"),
                  diagnostic("\x1b[31mcannot create c\x1b[0m", name="c"), pre("create", "c"), failed("create", "c"),
                  diagnostic("<{%fg 3%}>deprecated thing<{%reset%}>", severity="warning"),
                  diagnostic("just info", severity="info")):
        sink(event)
    assert [(e.kind, e.op, e.name) for e in got] == [
        ("resource-pre", "create", "a"),
        ("resource-done", "create", "a"),
        ("diagnostic", "", ""),
        ("resource-pre", "create", "c"),
        ("resource-failed", "create", "c"),
        ("diagnostic", "", ""),
    ]
    assert got[0].urn == urn("a") and got[0].type == FILE_TYPE
    assert got[2].message == "cannot create c" and got[2].urn == urn("c")
    assert got[4].message == "cannot create c"
    assert got[5].message == "deprecated thing"
    assert sink.first_error == "cannot create c"


def test_a_replacement_is_one_resource_in_progress_and_counts():
    got: list[EngineEvent] = []
    sink = EventSink(got.append, mode="apply")
    for op in ("create-replacement", "replace", "delete-replaced"):
        sink(pre(op, "c"))
        sink(done(op, "c"))
    assert [(e.kind, e.op) for e in got] == [("resource-pre", "replace"), ("resource-done", "replace")]
    assert sink.done.counts()["replace"] == 1


def test_preview_events_become_a_plan():
    sink = EventSink(mode="plan")
    events = [
        stack_pre("same"),
        pre("create", "a", inputs={"name": "a", "__provider": "gASV..."}),
        pre("update", "b", diffs=["content"]),
        pre("create-replacement", "c"), pre("replace", "c"), pre("delete-replaced", "c"),
        pre("delete", "d", gone=True),
        pre("same", "e"),
        pre("read", "f"),
        pre("create", "group", type_="my:index:Group", custom=False),
        pre("create", "default", type_="pulumi:providers:aws"),
    ]
    for event in events:
        sink(event)
    changes = {c.name: c for c in sink.planned.changes()}
    assert {n: c.op for n, c in changes.items()} == {
        "a": "create", "b": "update", "c": "replace", "d": "delete", "e": "same", "f": "same",
        "group": "create", "default": "create"}
    assert changes["a"].inputs == {"name": "a"} and changes["a"].parent == STACK_URN
    assert changes["b"].diffs == ("content",)
    assert not changes["group"].custom and not changes["default"].custom and changes["a"].custom
    assert sink.planned.counts() == {"create": 1, "update": 1, "replace": 1, "delete": 1, "same": 2}


def test_refresh_events_become_drift():
    got: list[EngineEvent] = []
    sink = EventSink(got.append, mode="refresh")
    for event in (pre("refresh", "a"), done("delete", "a", gone=True), done("update", "b"), done("same", "c"),
                  done("same", "group", custom=False)):
        sink(event)
    report = sink.drift()
    assert (report.missing, report.changed, report.checked) == (["a"], ["b"], 3)
    assert [e.kind for e in got] == ["diagnostic", "diagnostic"]
    assert "a" in got[0].message and "no longer exists" in got[0].message


def test_summarize_keeps_one_line():
    traceback = "Program failed:\nTraceback (most recent call last):\n  File x\nRuntimeError: boom\n"
    assert summarize(traceback) == "RuntimeError: boom"
    assert summarize("error: first\nsecond") == "first"
    assert len(summarize("x" * 1000)) == 300


# ---- errors -----------------------------------------------------------------------------------

def test_concurrent_update_is_a_locked_stack_with_a_recovery_hint():
    exc = command_error("error: the stack is currently locked by 1 lock(s). Either wait ...")
    assert isinstance(exc, auto.ConcurrentUpdateError)
    mapped = failures.translate(exc, "up", "dev", "file:///srv/state")
    assert isinstance(mapped, StackLockedError)
    assert "/srv/state/.pulumi/locks/" in mapped.hint and "provision refresh dev" in mapped.hint
    cloud = failures.translate(command_error("[409] Conflict: Another update is currently in progress."),
                               "up", "dev", "https://api.pulumi.com")
    assert isinstance(cloud, StackLockedError) and "pulumi cancel" in cloud.hint


def test_command_error_is_one_line_not_the_whole_dump():
    exc = command_error("warning: noise\nerror: preview failed: bucket name taken\nmore\ndetail",
                        stdout="huge output " * 100)
    mapped = failures.translate(exc, "preview", "dev", "file:///x")
    assert isinstance(mapped, OperationFailed) and mapped.exit_code == 1
    assert mapped.message == "pulumi preview of stack 'dev' failed: preview failed: bucket name taken"
    with_diag = failures.translate(exc, "up", "dev", "file:///x", diagnostic="cannot create c")
    assert with_diag.message.endswith("failed: cannot create c")


def test_stack_not_found_and_unknown_exceptions():
    assert isinstance(failures.translate(command_error("no stack named 'dev' found"), "up", "dev", "file:///x"),
                      NotFoundError)
    assert failures.translate(ValueError("a bug of ours"), "up", "dev", "file:///x") is None
    lost = failures.translate(RuntimeError("summary event never found"), "preview", "dev", "file:///x")
    assert isinstance(lost, OperationFailed) and "summary event never found" in lost.message


def test_the_sdks_file_not_found_for_the_cli_is_unsupported(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UnsupportedError) as caught, failures.boundary("up", "dev", "file:///x"):
        auto.LocalWorkspace(work_dir=str(tmp_path))  # the real SDK, finding no CLI
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    with pytest.raises(FileNotFoundError), failures.boundary("up", "dev", "file:///x"):
        open(tmp_path / "not-there")


@pytest.mark.parametrize("call", [
    lambda e, r: e.plan(r),
    lambda e, r: e.up(r, lambda event: None),
    lambda e, r: e.destroy("dev", lambda event: None),
    lambda e, r: e.refresh("dev", lambda event: None),
    lambda e, r: e.outputs("dev"),
])
def test_without_the_cli_every_operation_says_how_to_install_and_writes_nothing(
        home, tmp_path, monkeypatch, no_user_passphrase, call):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    request = DeployRequest(load_recipe(FIXTURE_RECIPES / "files"), "dev", {"dir": str(tmp_path / "d")})
    with pytest.raises(UnsupportedError) as caught:
        call(PulumiEngine(), request)
    error = caught.value
    assert error.exit_code == 2
    assert "pulumi" in error.message and "not installed" in error.message
    assert "https://www.pulumi.com/docs/install/" in error.hint and "get.pulumi.com" in error.hint
    assert "--offline" in error.hint
    assert not home.exists()


# ---- the engine, on fake SDK stacks -----------------------------------------------------------

class FakeWorkspace:
    def __init__(self, plugins_installed=()):
        self.pulumi_command = type("Cmd", (), {"command": "pulumi"})()
        self.env_vars: dict[str, str] = {}
        self.pulumi_home = None
        self.work_dir = "."
        self.installed = list(plugins_installed)
        self.install_calls: list[tuple[str, str]] = []
        self.removed: list[str] = []

    def list_plugins(self):
        return [auto.PluginInfo(name, "resource", 0, None, version=version) for name, version in self.installed]

    def install_plugin(self, name, version, kind="resource"):
        self.install_calls.append((name, version))

    def remove_stack(self, name):
        self.removed.append(name)


class FakeStack:
    """Replays scripted events to ``on_event`` the way the SDK's gRPC servicer does."""

    def __init__(self, name="dev", script=(), outputs=None, error=None, workspace=None):
        self.name = name
        self.workspace = workspace or FakeWorkspace()
        self.script = list(script)
        self.result_outputs = outputs or {}
        self.error = error
        self.config: dict[str, auto.ConfigValue] = {}
        self.typed: dict[str, object] = {}  # keys set as object values, with their value
        self.calls: list[tuple[str, dict]] = []

    def _play(self, op, on_event, **options):
        self.calls.append((op, options))
        for event in self.script:
            on_event(event)
        if self.error is not None:
            raise self.error

    def get_all_config(self):
        return dict(self.config)

    def remove_all_config(self, keys):
        for key in keys:
            self.config.pop(key)

    def set_all_config(self, values):
        self.config.update(values)

    def set_all_config_json(self, text):
        """As the CLI stores `config set-all --json`: objects typed, the rest as strings."""
        for key, entry in json.loads(text).items():
            self.config[key] = auto.ConfigValue(entry["value"], secret=entry["secret"])
            self.typed[key] = entry.get("objectValue")

    def preview(self, on_event=None, color=None, policy_packs=None):
        self._play("preview", on_event, color=color, policy_packs=policy_packs)

    def up(self, on_event=None, color=None, policy_packs=None):
        self._play("up", on_event, color=color, policy_packs=policy_packs)
        return type("UpResult", (), {"outputs": self.result_outputs})()

    def destroy(self, on_event=None, color=None):
        self._play("destroy", on_event, color=color)

    def refresh(self, on_event=None, color=None, clear_pending_creates=None):
        self._play("refresh", on_event, color=color, clear_pending_creates=clear_pending_creates)

    def outputs(self):
        return self.result_outputs


@pytest.fixture
def fake_cli(tmp_path, monkeypatch, no_user_passphrase):
    """A ``pulumi`` on PATH that records argv and stdin (only `config set --secret` reaches it)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "cli-log"
    log.mkdir()
    script = folder / "pulumi"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}/argv\nenv > {log}/env\ncat > {log}/stdin\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.fixture
def recipe(tmp_path):
    """The `files` test recipe plus a secret config key and a plugins list."""
    folder = tmp_path / "recipe"
    shutil.copytree(FIXTURE_RECIPES / "files", folder)
    project = folder / "Pulumi.yaml"
    project.write_text(project.read_text() + "  token:\n    type: string\n    default: ''\n"
                       "    secret: true\n    description: A secret.\n")
    (folder / "recipe.yaml").write_text((folder / "recipe.yaml").read_text() + "plugins: [aws, gcp, nosuchsdk]\n")
    (folder / "Pulumi.dev.yaml").write_text("config: {}\n")  # someone's stack settings: never copied
    return load_recipe(folder)


def use(monkeypatch, stack: FakeStack, created: bool = False) -> list:
    opened = []

    def open_stack(target, create):
        opened.append(target)
        stack.workspace.env_vars = session.workspace_env(target.backend)  # as the real workspace gets it
        return stack, created

    monkeypatch.setattr(session, "open_stack", open_stack)
    monkeypatch.setattr(session, "select_existing", lambda target: opened.append(target) or stack)
    return opened


def request_for(recipe, tmp_path, **config_values) -> DeployRequest:
    values = {"dir": str(tmp_path / "files"), "files": ["a", "b"], "content": "hi", "generation": 1,
              "fail_on": "", "token": "", **config_values}
    labels = {"stack": "dev", "recipe": recipe.name, "env": "dev", "owner": "ana"}
    return DeployRequest(recipe, "dev", values, labels=labels)


UP_SCRIPT = [stack_pre(), pre("create", "a"), done("create", "a"), pre("create", "b"), done("create", "b"),
             pre("same", "index"), done("same", "index")]


def test_up_reports_counts_masks_secret_outputs_and_records_the_stack(home, tmp_path, monkeypatch, fake_cli, recipe):
    stack = FakeStack(script=UP_SCRIPT, outputs={
        "stack": auto.OutputValue({"artifact_store": {"flavor": "local"}}, secret=True),
        "password": auto.OutputValue("hunter2", secret=True),
        "url": auto.OutputValue("http://x", secret=False)})
    opened = use(monkeypatch, stack)
    events: list[EngineEvent] = []
    result = PulumiEngine().up(request_for(recipe, tmp_path), events.append)

    assert result.counts == {"create": 2, "update": 0, "replace": 0, "delete": 0, "same": 1}
    assert result.outputs == {"stack": {"artifact_store": {"flavor": "local"}}, "password": "[secret]", "url": "http://x"}
    assert [(e.kind, e.name) for e in events] == [("resource-pre", "a"), ("resource-done", "a"),
                                                  ("resource-pre", "b"), ("resource-done", "b")]
    assert stack.calls == [("up", {"color": "never", "policy_packs": [str(pack_path())]})]  # the zenprovision pack
    saved = json.loads((home / "pulumi" / "stacks" / "dev.json").read_text())
    assert saved["recipe"] == "files" and saved["recipe_path"] == str(recipe.path)
    assert saved["project"] == "files" and saved["backend"] == f"file://{home}/pulumi/state"
    work = Path(saved["work_dir"])
    assert opened[0].work_dir == work and (work / "__main__.py").is_file() and not (work / "Pulumi.dev.yaml").exists()


def test_up_sets_config_and_sends_secrets_on_stdin_not_argv(home, tmp_path, monkeypatch, fake_cli, recipe):
    stack = FakeStack(script=UP_SCRIPT)
    stack.config = {"files:removed_key": auto.ConfigValue("x"), "aws:region": auto.ConfigValue("eu")}
    use(monkeypatch, stack)
    PulumiEngine().up(request_for(recipe, tmp_path, token="tok-123", files=["a"]), lambda e: None)

    plain = {k: (v.value, v.secret) for k, v in stack.config.items()}
    assert plain["files:files"] == ('["a"]', False) and plain["files:generation"] == ("1", False)
    assert stack.typed == {"files:files": ["a"]}  # an array reaches the CLI as an array, not as text
    assert "files:removed_key" not in plain and plain["aws:region"] == ("eu", False)
    assert plain["zenprovision:owner"] == ("ana", False) and plain["zenprovision:stack"] == ("dev", False)
    assert "files:token" not in plain
    argv = (fake_cli / "argv").read_text().split()
    assert argv[:6] == ["--non-interactive", "config", "set", "--secret", "files:token", "--stack"]
    assert "tok-123" not in argv
    assert (fake_cli / "stdin").read_text() == "tok-123"
    cli_env = (fake_cli / "env").read_text().splitlines()
    assert f"PULUMI_CONFIG_PASSPHRASE_FILE={home}/pulumi/passphrase" in cli_env
    assert f"PULUMI_BACKEND_URL=file://{home}/pulumi/state" in cli_env


def test_plugins_are_installed_once_at_the_sdk_versions_when_missing(home, tmp_path, monkeypatch, fake_cli, recipe):
    from importlib import metadata

    aws, gcp = metadata.version("pulumi-aws"), metadata.version("pulumi-gcp")
    workspace = FakeWorkspace(plugins_installed=[("aws", aws), ("gcp", "1.0.0")])
    use(monkeypatch, FakeStack(script=UP_SCRIPT, workspace=workspace))
    engine = PulumiEngine()
    engine.up(request_for(recipe, tmp_path), lambda e: None)
    engine.plan(request_for(recipe, tmp_path))
    assert workspace.install_calls == [("gcp", f"v{gcp}")]
    assert plugins.declared(recipe.path) == ["aws", "gcp", "nosuchsdk"]
    assert plugins.declared(FIXTURE_RECIPES / "files") == []


def test_a_bad_plugins_list_is_a_recipe_error(tmp_path):
    (tmp_path / "recipe.yaml").write_text("plugins: aws\n")
    with pytest.raises(InputError, match="plugins"):
        plugins.declared(tmp_path)


def test_plan_of_a_new_stack_leaves_no_stack_behind(home, tmp_path, monkeypatch, fake_cli, recipe):
    stack = FakeStack(script=[stack_pre(), pre("create", "a"), pre("create", "b")])
    use(monkeypatch, stack, created=True)
    planned = PulumiEngine().plan(request_for(recipe, tmp_path))
    assert [(c.name, c.op) for c in planned.changes] == [("a", "create"), ("b", "create")]
    assert planned.applyable and planned.has_changes
    assert stack.workspace.removed == ["dev"]
    assert not records.exists("dev") and not paths.work_dir("dev").exists()


def test_a_locked_stack_through_up(home, tmp_path, monkeypatch, fake_cli, recipe):
    use(monkeypatch, FakeStack(error=command_error("error: the stack is currently locked by 1 lock(s)")))
    with pytest.raises(StackLockedError) as caught:
        PulumiEngine().up(request_for(recipe, tmp_path), lambda e: None)
    assert f"{home}/pulumi/state/.pulumi/locks/" in caught.value.hint
    assert isinstance(caught.value.__cause__, auto.ConcurrentUpdateError)


def test_a_command_holding_the_stack_lock_blocks_up(home, tmp_path, monkeypatch, fake_cli, recipe):
    import subprocess
    import sys

    stack = FakeStack(script=UP_SCRIPT)
    use(monkeypatch, stack)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time; from zenprovision.locks import StackLock; StackLock('dev').acquire(); "
        "print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StackLockedError):  # another command (process) holds it
            PulumiEngine().up(request_for(recipe, tmp_path), lambda e: None)
    finally:
        holder.kill()
        holder.wait()
    assert stack.calls == [] and not paths.work_dir("dev").exists()


def test_a_failed_up_quotes_the_first_error_diagnostic(home, tmp_path, monkeypatch, fake_cli, recipe):
    script = [pre("create", "a"), diagnostic("cannot create a\n  at provider.py:10", name="a"), failed("create", "a")]
    use(monkeypatch, FakeStack(script=script, error=command_error("error: update failed\n" + "noise\n" * 50)))
    events: list[EngineEvent] = []
    with pytest.raises(OperationFailed) as caught:
        PulumiEngine().up(request_for(recipe, tmp_path), events.append)
    assert caught.value.message == "pulumi up of stack 'dev' failed: cannot create a"
    assert ("resource-failed", "cannot create a") in [(e.kind, e.message) for e in events]


def test_destroy_removes_resources_stack_and_record(home, tmp_path, monkeypatch, fake_cli, recipe):
    use(monkeypatch, FakeStack(script=UP_SCRIPT))
    engine = PulumiEngine()
    engine.up(request_for(recipe, tmp_path), lambda e: None)
    assert engine.has_state("dev")
    stack = FakeStack(script=[pre("delete", "a", gone=True), done("delete", "a", gone=True)])
    use(monkeypatch, stack)
    result = engine.destroy("dev", lambda e: None)
    assert result.counts["delete"] == 1 and result.outputs == {}
    assert stack.calls == [("destroy", {"color": "never"})] and stack.workspace.removed == ["dev"]
    assert not engine.has_state("dev") and not paths.work_dir("dev").exists()
    with pytest.raises(NotFoundError):
        engine.destroy("dev", lambda e: None)


def test_a_record_copied_under_another_name_never_destroys_the_stack_it_names(home, tmp_path, monkeypatch, fake_cli,
                                                                             recipe):
    """`cp pulumi/stacks/dev.json pulumi/stacks/dev-old.json`, then `destroy dev-old` ran `pulumi destroy` on dev."""
    from zenprovision.engines.pulumi_cli import records
    from zenprovision.errors import CorruptFileError

    use(monkeypatch, FakeStack(script=UP_SCRIPT))
    engine = PulumiEngine()
    engine.up(request_for(recipe, tmp_path), lambda e: None)
    copy = records.record_path("dev-old")
    copy.write_bytes(records.record_path("dev").read_bytes())
    stack = FakeStack(script=[pre("delete", "a", gone=True), done("delete", "a", gone=True)])
    use(monkeypatch, stack)
    with pytest.raises(CorruptFileError, match="field stack: says 'dev', but the file is stack 'dev-old'"):
        engine.destroy("dev-old", lambda e: None)
    assert stack.calls == [] and engine.has_state("dev") and copy.exists()


def test_refresh_clears_pending_creates_and_reports_drift(home, tmp_path, monkeypatch, fake_cli, recipe):
    use(monkeypatch, FakeStack(script=UP_SCRIPT))
    engine = PulumiEngine()
    engine.up(request_for(recipe, tmp_path), lambda e: None)
    stack = FakeStack(script=[done("delete", "a", gone=True), done("same", "b")])
    use(monkeypatch, stack)
    report = engine.refresh("dev", lambda e: None)
    assert (report.missing, report.changed, report.checked) == (["a"], [], 2)
    assert stack.calls == [("refresh", {"color": "never", "clear_pending_creates": True})]
    assert "clear_pending_creates" in session.refresh_options(auto.Stack.__new__(auto.Stack))


def test_a_stack_stays_in_its_backend(home, tmp_path, monkeypatch, fake_cli, recipe):
    use(monkeypatch, FakeStack(script=UP_SCRIPT))
    PulumiEngine().up(request_for(recipe, tmp_path), lambda e: None)
    monkeypatch.setenv(passphrase.PASSPHRASE_ENV, "the team's")  # the other backend is shared
    with pytest.raises(InputError, match="lives in the backend"):
        PulumiEngine(backend="s3://elsewhere").up(request_for(recipe, tmp_path), lambda e: None)


def test_nothing_written_or_reported_contains_the_passphrase(home, tmp_path, monkeypatch, fake_cli, recipe, capsys):
    use(monkeypatch, FakeStack(script=UP_SCRIPT))
    events: list[EngineEvent] = []
    PulumiEngine().up(request_for(recipe, tmp_path, token="tok"), events.append)
    secret = paths.passphrase_file().read_text()
    written = [p.read_text(errors="replace") for p in home.rglob("*") if p.is_file() and p != paths.passphrase_file()]
    cli_saw = [(fake_cli / name).read_text() for name in ("argv", "env", "stdin")]
    out, err = capsys.readouterr()
    assert secret and written
    assert not any(secret in text for text in [*written, *cli_saw, out, err, repr(events)])


@pytest.fixture
def scripted_cli(tmp_path, monkeypatch, no_user_passphrase):
    """A ``pulumi`` that logs each call (argv, env, stdin) and answers from a small script.

    The real Automation API drives it, so these tests check the commands our code makes
    the SDK run, without the CLI itself.
    """
    log = tmp_path / "log"
    log.mkdir()
    cli = tmp_path / "bin" / "pulumi"
    cli.parent.mkdir()
    plugins_json = json.dumps([{"name": "aws", "kind": "resource", "size": 1, "version": "7.51.1",
                                "lastUsedTime": "2024-01-01T00:00:00.000Z"}])
    config_json = json.dumps({"files:old": {"value": "x", "secret": False}})
    cli.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}/calls\n'
        f"env | grep -E '^PULUMI_(BACKEND_URL|CONFIG_PASSPHRASE_FILE|PYTHON_CMD)=' | sort > {log}/env\n"
        'case "$*" in\n'
        "  version) echo v3.272.0 ;;\n"
        "  *'stack select'*) echo \"error: no stack named 'dev' found\" >&2; exit 255 ;;\n"
        f"  *'plugin ls --json'*) echo '{plugins_json}' ;;\n"
        f"  *'config --show-secrets --json'*) echo '{config_json}' ;;\n"
        f"  *'config set --secret'*) cat > {log}/stdin ;;\n"
        "esac\n")
    cli.chmod(0o755)
    monkeypatch.setenv("PATH", f"{cli.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PULUMI_PYTHON_CMD", raising=False)
    (tmp_path / "project").mkdir()
    return log


def test_the_real_sdk_selects_or_creates_the_stack_with_our_env(home, tmp_path, scripted_cli):
    target = session.Target("dev", tmp_path / "project", f"file://{home}/pulumi/state")
    stack, created = session.open_stack(target, create=True)
    assert created and stack.name == "dev"
    calls = (scripted_cli / "calls").read_text().splitlines()
    assert calls[-2:] == ["--non-interactive stack select --stack dev",
                          "--non-interactive stack init dev --secrets-provider passphrase"]
    assert (scripted_cli / "env").read_text().splitlines() == [
        f"PULUMI_BACKEND_URL=file://{home}/pulumi/state",
        f"PULUMI_CONFIG_PASSPHRASE_FILE={home}/pulumi/passphrase",
        f"PULUMI_PYTHON_CMD={sys.executable}",
    ]
    assert (home / "pulumi" / "state").is_dir()
    with pytest.raises(auto.StackNotFoundError):
        session.open_stack(target, create=False)
    assert session.select_existing(target) is None


def test_the_real_sdk_sets_config_and_installs_plugins(home, tmp_path, scripted_cli, monkeypatch):
    monkeypatch.setenv(passphrase.PASSPHRASE_ENV, "the team's")  # the backend is shared
    stack, _ = session.open_stack(session.Target("dev", tmp_path / "project", "s3://b"), create=True)
    wanted = {"files:dir": config.Setting("/d"), "files:token": config.Setting("tok-9", secret=True)}
    session.apply_config(stack, wanted, "files")
    assert plugins.ensure(stack.workspace, [plugins.PluginSpec("aws", "7.51.1"), plugins.PluginSpec("gcp", "10.2.0")]) \
        == [plugins.PluginSpec("gcp", "10.2.0")]
    calls = (scripted_cli / "calls").read_text().splitlines()[3:]  # after version, select, init
    assert calls == [
        "--non-interactive config --show-secrets --json --stack dev",
        "--non-interactive config rm-all --stack dev files:old",
        "--non-interactive config set-all --stack dev --plaintext files:dir=/d",
        "--non-interactive config set --secret files:token --stack dev",
        "--non-interactive plugin ls --json",
        "--non-interactive plugin install resource gcp v10.2.0",
    ]
    assert (scripted_cli / "stdin").read_text() == "tok-9"


# ---- project folder, Ctrl-C, import cost ------------------------------------------------------

def test_the_work_dir_is_a_fresh_copy_keeping_the_stack_settings(home, recipe):
    folder = workdir.sync(recipe.path, "dev")
    (folder / "Pulumi.dev.yaml").write_text("encryptionsalt: ours\n")
    (folder / "stale.py").write_text("")
    (recipe.path / "helper.py").write_text("")
    workdir.sync(recipe.path, "dev")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["Pulumi.dev.yaml", "Pulumi.yaml", "__main__.py", "helper.py", "recipe.yaml"]
    assert (folder / "Pulumi.dev.yaml").read_text() == "encryptionsalt: ours\n"


def _interrupt_when(ready: Callable[[], bool]) -> None:
    """Ctrl-C to the main thread once ``ready()`` says the operation is under way (never on a timer:
    a loaded machine may not have started it yet)."""
    def interrupt_main() -> None:
        deadline = time.monotonic() + 60
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_main, daemon=True).start()


def test_ctrl_c_waits_for_the_operation_then_is_cancelled(monkeypatch):
    started, asked, finished = threading.Event(), threading.Event(), threading.Event()

    def from_the_terminal() -> bool:
        asked.set()  # the main thread took the Ctrl-C
        return True

    monkeypatch.setattr(interrupt, "terminal_sent_it", from_the_terminal)

    def operation():
        started.set()
        assert asked.wait(60)  # the CLI is still busy when Ctrl-C arrives, and stops only after it
        finished.set()
        raise command_error("error: update canceled")

    _interrupt_when(started.is_set)
    with pytest.raises(CancelledError) as caught:
        interrupt.run(operation, "up of stack 'dev'")
    assert finished.is_set()  # the CLI was given time to stop cleanly
    assert caught.value.hint == "run the same command again" and caught.value.exit_code == 130


def test_ctrl_c_the_instant_the_operation_starts_still_waits_for_it(monkeypatch):
    """No window in which a Ctrl-C escapes as KeyboardInterrupt and leaves the CLI unwatched."""
    asked, finished = threading.Event(), threading.Event()
    monkeypatch.setattr(interrupt, "terminal_sent_it", lambda: asked.set() or True)

    def operation():
        _thread.interrupt_main()  # while the main thread is still starting this one
        assert asked.wait(60)
        finished.set()
        raise command_error("error: update canceled")

    for _ in range(20):
        asked.clear(), finished.clear()
        with pytest.raises(CancelledError):
            interrupt.run(operation, "up of stack 'dev'")
        assert finished.is_set()


def test_ctrl_c_ignored_by_the_caller_stays_ignored():
    """Under nohup or as a script's background job a Ctrl-C must neither count nor reach the CLI."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        seen = interrupt.run(lambda: signal.getsignal(signal.SIGINT), "up")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen is signal.SIG_IGN


def test_ctrl_c_not_from_a_terminal_is_forwarded_to_the_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(interrupt, "terminal_sent_it", lambda: False)
    marker, trapping = tmp_path / "got-sigint", tmp_path / "trapping"
    cli = tmp_path / "pulumi"
    cli.write_text(f"#!/bin/sh\ntrap 'touch {marker}; exit 1' INT\ntouch {trapping}\nwhile :; do sleep 0.05; done\n")
    cli.chmod(0o755)
    _interrupt_when(trapping.exists)
    with pytest.raises(CancelledError):
        interrupt.run(lambda: subprocess.run([str(cli)], check=True, timeout=60), "up")
    assert marker.exists()


def test_importing_the_engine_does_not_load_the_automation_api():
    code = ("import sys, zenprovision.engines.pulumi_cli as p; p.PulumiEngine(); "
            "sys.exit(1 if any(m.startswith('pulumi') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# ---- with the real CLI ------------------------------------------------------------------------

@needs_cli
def test_up_plan_refresh_destroy_with_the_real_cli(home, tmp_path, no_user_passphrase):
    recipe = load_recipe(FIXTURE_RECIPES / "files")
    folder = tmp_path / "files"
    request = DeployRequest(recipe, "e2e", {"dir": str(folder), "files": ["a", "b"], "content": "hello",
                                            "generation": 1, "fail_on": ""})
    engine = PulumiEngine()
    events: list[EngineEvent] = []
    result = engine.up(request, events.append)
    assert result.counts["create"] == 3 and (folder / "a").read_text() == "hello"
    assert result.outputs["stack"]["artifact_store"]["flavor"] == "local"
    assert {e.name for e in events if e.kind == "resource-done"} == {"a", "b", "index"}
    assert engine.outputs("e2e")["stack"] == result.outputs["stack"]
    assert not engine.plan(request).has_changes
    assert not list(recipe.path.glob("Pulumi.*.yaml"))  # the recipe folder is never written

    (folder / "a").unlink()
    report = engine.refresh("e2e", events.append)
    assert report.missing == ["a"] and report.checked == 3

    destroyed = engine.destroy("e2e", events.append)
    assert destroyed.counts["delete"] == 2 and not (folder / "b").exists()
    assert not engine.has_state("e2e")


@needs_cli
def test_secret_config_and_outputs_with_the_real_cli(home, tmp_path, no_user_passphrase):
    folder = tmp_path / "secret-recipe"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text(
        "name: secretive\nruntime:\n  name: python\ndescription: t\nconfig:\n"
        "  token:\n    type: string\n    secret: true\n    description: A secret.\n")
    (folder / "recipe.yaml").write_text("cloud: local\nengine: pulumi\ncomponents: {}\n")
    (folder / "__main__.py").write_text(
        "import pulumi\nc = pulumi.Config()\n"
        "pulumi.export('token', c.require_secret('token'))\n"
        "pulumi.export('stack', {'orchestrator': {'flavor': 'local', 'config': {}}})\n")
    engine = PulumiEngine()
    result = engine.up(DeployRequest(load_recipe(folder), "sec", {"token": "tok-456"}), lambda e: None)
    assert result.outputs == {"token": "[secret]", "stack": {"orchestrator": {"flavor": "local", "config": {}}}}
    for path in home.rglob("*"):
        if path.is_file():
            assert "tok-456" not in path.read_text(errors="replace"), path
    engine.destroy("sec", lambda e: None)


# ---- the deploying machine's address (issue 11: a closed API stays reachable from here) -------

@pytest.fixture
def checkip():
    """A check-ip service on 127.0.0.1 answering like checkip.amazonaws.com."""
    import http.server

    answers = ["198.51.100.7\n"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = answers[0].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", answers
    server.shutdown()


def test_the_deployers_address_is_looked_up_or_given(monkeypatch, checkip):
    from zenprovision.engines.pulumi_cli import deployer

    url, answers = checkip
    monkeypatch.delenv(deployer.ENV, raising=False)
    assert deployer.deployer_cidr(url) == "198.51.100.7/32"
    answers[0] = "<html>not an address</html>"
    assert deployer.deployer_cidr(url) is None
    assert deployer.deployer_cidr("http://127.0.0.1:9/", timeout=2) is None  # nothing listens: no address
    monkeypatch.setenv(deployer.ENV, "203.0.113.9/32")
    assert deployer.settings("aws") == {"zenprovision:deployer_cidr": config.Setting("203.0.113.9/32")}
    assert deployer.settings("local") == {}
    monkeypatch.setenv(deployer.ENV, "none")
    assert deployer.settings("gcp") == {}


def test_up_of_a_cloud_recipe_passes_the_deployers_address(home, tmp_path, monkeypatch, fake_cli):
    from zenprovision.engines.pulumi_cli import deployer

    monkeypatch.setenv(deployer.ENV, "198.51.100.7/32")
    cloudish = load_recipe(FIXTURE_RECIPES / "cloudish")
    stack = FakeStack(script=UP_SCRIPT)
    use(monkeypatch, stack)
    PulumiEngine().up(DeployRequest(cloudish, "dev", {k: v.default for k, v in cloudish.config.items()},
                                    labels={"env": "dev"}), lambda e: None)
    assert stack.config["zenprovision:deployer_cidr"].value == "198.51.100.7/32"
