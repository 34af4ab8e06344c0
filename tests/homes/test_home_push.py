"""``provision home push``: a folder home copied into a bucket, then used from another machine."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURE_RECIPES
from zenprovision import home_push
from zenprovision.errors import WriteConflict
from zenprovision.homes.location import parse
from zenprovision.homes.objects import open_home


@pytest.fixture
def folder_home(tmp_path, team_home, monkeypatch):
    """This machine's home as a folder (as before a team shares one), with one stack deployed."""
    folder = tmp_path / "old-home"
    monkeypatch.setenv("ZENPROVISION_HOME", str(folder))
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(FIXTURE_RECIPES))
    return folder


def _deploy(cli, tmp_path, stack="s1"):
    result = cli("recipe", "files", "--stack", stack, "-c", f"dir={tmp_path / stack}", "--yes")
    assert result.code == 0, result.err


@pytest.mark.slow  # ten CLI processes
def test_push_then_use_from_a_second_machine(folder_home, team_home, cli, tmp_path):
    _deploy(cli, tmp_path)
    for private in ("locks/s1.lock", "logs/s1.log", "metadata/s1.db", "local/s1/data", "settings.yaml"):
        (folder_home / private).parent.mkdir(parents=True, exist_ok=True)
        (folder_home / private).write_text("stays here")
    backend = folder_home / "pulumi" / "state" / ".pulumi"
    for name in ("stacks/files/dev.json", "locks/files/dev/held.json", "meta.yaml"):
        (backend / name).parent.mkdir(parents=True, exist_ok=True)
        (backend / name).write_text("{}")
    (folder_home / "pulumi" / "stacks").mkdir()
    (folder_home / "pulumi" / "stacks" / "p1.json").write_text(json.dumps({
        "stack": "p1", "recipe": "aws-k8s", "recipe_path": "/x", "project": "aws-k8s", "work_dir": "/y",
        "backend": f"file://{folder_home}/pulumi/state"}))
    dry = cli("home", "push", team_home.url, "--dry-run")
    assert dry.code == 0, dry.err
    assert " copy    stacks/s1.yaml " in dry.out and "locks" not in dry.out and team_home.keys() == []
    pushed = cli("home", "push", team_home.url)
    assert pushed.code == 0, pushed.err
    assert team_home.keys() == ["pulumi/.pulumi/meta.yaml", "pulumi/.pulumi/stacks/files/dev.json",
                                "pulumi/stacks/p1.json", "registry/s1.json", "stacks/s1.yaml", "state/s1.json"]
    assert json.loads(team_home.read("pulumi/stacks/p1.json"))["backend"] == f"{team_home.url}/pulumi"
    other = team_home.machine("desktop")
    assert [row["name"] for row in json.loads(cli("stacks", "--json", env=other).out)] == ["s1"]
    again = cli("home", "push", team_home.url)  # nothing changed here: nothing to write
    assert again.code == 0 and "Pushed 0 document(s)" in again.err
    assert cli("refresh", "s1", env=other).code == 0  # the shared record is now newer than ours
    before = {key: team_home.read(key) for key in team_home.keys()}
    refused = cli("home", "push", team_home.url)
    assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1
    assert "registry/s1.json is as new as or newer" in refused.err and "'s1'" in refused.err
    assert {key: team_home.read(key) for key in team_home.keys()} == before
    destroyed = cli("destroy", "s1", "--yes", env=other)
    assert destroyed.code == 0, destroyed.err
    assert not (tmp_path / "s1" / "a").exists()


def test_a_newer_local_record_replaces_an_older_shared_one(folder_home, team_home, cli, tmp_path):
    _deploy(cli, tmp_path)
    assert cli("home", "push", team_home.url).code == 0
    assert cli("refresh", "s1").code == 0  # used here again: ours is newer now
    pushed = cli("home", "push", team_home.url)
    assert pushed.code == 0, pushed.err
    shared = json.loads(team_home.read("registry/s1.json"))
    assert [op["op"] for op in shared["operations"]] == ["deploy", "refresh"]


def test_a_document_changed_during_the_push_is_not_overwritten(folder_home, team_home, cli, tmp_path):
    _deploy(cli, tmp_path)
    target = open_home(parse(team_home.url))
    items = home_push.plan(folder_home, target)
    target.put("stacks/s1.yaml", b"name: s1  # written by a deploy elsewhere meanwhile\n")
    with pytest.raises(WriteConflict, match="changed while pushing"):
        home_push.push(items, target)
    assert team_home.read("stacks/s1.yaml").startswith(b"name: s1  # written by a deploy")
    assert "registry/s1.json" not in team_home.keys()  # the record goes last: never without its config


def test_a_folder_target_gets_the_backend_where_its_pulumi_engine_looks(tmp_path):
    source, target = tmp_path / "mine", tmp_path / "team-mount"
    (source / "pulumi" / "state" / ".pulumi" / "stacks" / "p").mkdir(parents=True)
    (source / "pulumi" / "state" / ".pulumi" / "stacks" / "p" / "p1.json").write_text("{}")
    (source / "pulumi" / "stacks").mkdir()
    (source / "pulumi" / "stacks" / "p1.json").write_text(json.dumps({"stack": "p1", "backend": f"file://{source}/pulumi/state"}))
    store = open_home(parse(str(target)))
    assert home_push.push(home_push.plan(source, store), store) == 2
    assert (target / "pulumi" / "state" / ".pulumi" / "stacks" / "p" / "p1.json").is_file()
    assert json.loads((target / "pulumi" / "stacks" / "p1.json").read_text())["backend"] == f"file://{target}/pulumi/state"


def test_a_stack_a_command_is_changing_is_not_pushed(folder_home, team_home, cli, tmp_path):
    """Pushed mid-deploy, the team got a half-applied state and a record that read `deploying`/interrupted."""
    from zenprovision.locks.files import FileStackLock

    _deploy(cli, tmp_path)
    with FileStackLock("s1"):  # a deploy or destroy of s1 in flight on this machine
        refused = cli("home", "push", team_home.url)
    assert refused.code == 1 and len(refused.err.strip().splitlines()) == 1, refused.err
    assert "stack 's1' is locked by PID" in refused.err
    assert team_home.keys() == []
    dry = cli("home", "push", team_home.url, "--dry-run")  # a look takes no lock
    assert dry.code == 0 and "stacks/s1.yaml" in dry.out
    pushed = cli("home", "push", team_home.url)  # once it finished
    assert pushed.code == 0, pushed.err
    assert "registry/s1.json" in team_home.keys()
    FileStackLock("s1").acquire().release()  # and the push let go of it
