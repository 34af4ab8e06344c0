"""The embedded engine's create/update/replace/delete logic, on the `files` test recipe."""

import json

import yaml

from zenprovision.engines.embedded import state


def ops(folder):
    return [tuple(json.loads(line)) for line in (folder / "operations.log").read_text().splitlines()]


def deploy(cli, folder, *pairs):
    return cli("recipe", "files", "--stack", "f", "-c", f"dir={folder}", *pairs, "--yes")


def test_create_update_delete_and_no_change(home, cli, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    result = deploy(cli, folder)
    assert result.code == 0, result.err
    assert sorted(ops(folder)[:2]) == [("create", "a"), ("create", "b")]
    assert ops(folder)[2] == ("create", "index")
    saved = state.load("f")
    index = next(r for r in saved.resources if r.name == "index")
    assert len(index.dependencies) == 2  # the index was built from both files' outputs

    again = deploy(cli, folder)
    assert again.code == 0 and "No changes" in again.err
    assert len(ops(folder)) == 3

    changed = deploy(cli, folder, "-c", "content=new", "-c", "files=a,c")
    assert changed.code == 0, changed.err
    assert set(ops(folder)[3:]) == {("update", "a"), ("create", "c"), ("update", "index"), ("delete", "b")}
    assert ops(folder)[-1] == ("delete", "b")  # resources that left the program go last
    assert (folder / "a").read_text() == "new" and not (folder / "b").exists()


def test_replace_deletes_before_creating(home, cli, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    assert deploy(cli, folder, "-c", "files=a").code == 0
    plan = cli("plan", "files", "--stack", "f", "-c", f"dir={folder}", "-c", "files=a", "-c", "generation=2", "--json")
    changes = {c["name"]: c["op"] for c in json.loads(plan.out)["changes"]}
    assert changes == {"a": "replace", "index": "same"}
    assert deploy(cli, folder, "-c", "files=a", "-c", "generation=2").code == 0
    assert ops(folder)[-2:] == [("delete", "a"), ("create", "a")]


def test_destroy_deletes_in_reverse_dependency_order_without_the_program(home, cli, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    assert deploy(cli, folder).code == 0
    # the provider is defined in the program, yet destroy needs neither program nor catalog:
    result = cli("destroy", "f", "--yes", env={"ZENPROVISION_RECIPES_PATH": ""})
    assert result.code == 0, result.err
    assert ops(folder)[3] == ("delete", "index")
    assert {op for op in ops(folder)[4:]} == {("delete", "a"), ("delete", "b")}
    assert not state.exists("f") and not (home / "stacks" / "f.yaml").exists()
    assert cli("stacks", "--json").out.strip() == "[]"


def test_failed_create_keeps_what_was_made_and_exits_1(home, cli, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    result = deploy(cli, folder, "-c", "files=a,boom", "-c", "fail_on=boom")
    assert result.code == 1
    assert "cannot create boom" in result.err and "Traceback" not in result.err
    # As with Pulumi, no new operation starts after a failure; what was made is in state.
    names = {r.name for r in state.load("f").resources}
    assert names <= {"a"} and state.load("f").pending == []
    assert {p.name for p in folder.iterdir()} - {"operations.log"} == names
    assert not (home / "stacks" / "f.yaml").exists()
    fixed = deploy(cli, folder, "-c", "files=a")
    assert fixed.code == 0, fixed.err
    assert yaml.safe_load((home / "stacks" / "f.yaml").read_text())["recipe"] == "files"


def test_refresh_reports_drift(home, cli, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    assert deploy(cli, folder).code == 0
    assert "No drift" in cli("refresh", "f").out
    (folder / "b").unlink()
    drift = cli("refresh", "f")
    assert drift.code == 0 and "b: gone" in drift.out
    plan = cli("plan", "files", "--stack", "f", "-c", f"dir={folder}", "--detailed-exitcode")
    assert plan.code == 2 and "+ b" in plan.out
    assert deploy(cli, folder).code == 0 and (folder / "b").exists()


def test_cloud_program_plans_but_never_applies(home, cli, fixture_recipes):
    plan = cli("plan", "cloudish", "--stack", "c", "-c", "bucket_name=mine")
    assert plan.code == 0
    assert "aws:s3/bucket:Bucket" in plan.out and "bucket=mine" in plan.out
    applied = cli("recipe", "cloudish", "--stack", "c", "--yes")
    assert applied.code == 2
    assert "Pulumi CLI" in applied.err
    assert not (home / "state" / "c.json").exists() and not (home / "stacks" / "c.yaml").exists()


def test_offline_plan_runs_the_policy_pack(home, cli, fixture_recipes):
    args = ("plan", "cloudish", "--stack", "c", "-c", "bucket_name=mine", "--offline")
    found = json.loads(cli(*args, "--json").out)["policy"]
    assert {(p["policy"], p["resource"]) for p in found} == {
        (name, "artifacts (aws:s3/bucket:Bucket)") for name in (
            "zenprovision-labels", "s3-bucket-private", "s3-bucket-encrypted", "s3-bucket-tls-only",
            "deletable-in-dev")}  # retain_on_delete reaches the policies from the program's options
    assert all(p["urn"].endswith("::artifacts") for p in found)
    shown = cli(*args)
    assert shown.code == 0 and "Policy: 5 violation(s)" in shown.out  # the plan is data: stdout
    assert "[s3-bucket-tls-only] artifacts (aws:s3/bucket:Bucket): no bucket policy denies" in shown.out
    prod = json.loads(cli(*args, "--env", "prod", "--json").out)["policy"]
    assert "deletable-in-dev" not in {p["policy"] for p in prod}


def test_plan_detailed_exitcode(home, cli, fixture_recipes, tmp_path):
    folder = tmp_path / "files"
    assert cli("plan", "files", "--stack", "f", "-c", f"dir={folder}", "--detailed-exitcode").code == 2
    assert deploy(cli, folder).code == 0
    assert cli("plan", "files", "--stack", "f", "-c", f"dir={folder}", "--detailed-exitcode").code == 0
    assert cli("plan", "files", "--stack", "f", "--detailed-exitcode").code == 1  # an error is never "2"
    assert cli("plan", "files", "--stack", "f").code == 2  # without the flag: bad input
