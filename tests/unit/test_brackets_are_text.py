"""Data with brackets is shown as it is, never read as rich markup.

`[secret]` (a masked value), `[id=i-0abc]` (a provider's message) and `zenprovision[local]` (an
install hint) vanished from the output, and `[/data/train]` (a path in a step's error) made the
command fail with rich's MarkupError instead of showing the error.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from zenprovision.cli import output
from zenprovision.cli.progress import Progress
from zenprovision.cli.run_cmds import _progress
from zenprovision.cli.table import print_table
from zenprovision.engines.base import EngineEvent

TEXTS = ["password=[secret] refused", "cannot read [/data/train]", "in vpc [id=vpc-0abc]",
         "pip install 'zenprovision[local]'"]


@pytest.fixture
def fresh_consoles(monkeypatch):
    monkeypatch.setattr(output, "_consoles", {})


def test_table_cells_are_text(capsys, fresh_consoles):
    print_table(("stack", "error"), [(str(i), text) for i, text in enumerate(TEXTS)])
    out = capsys.readouterr().out
    assert all(text in out for text in TEXTS), out


def test_warnings_and_run_progress_show_a_steps_error_as_it_is(capsys, fresh_consoles):
    for text in TEXTS:
        output.warn(text)
        _progress("failed", "train[/x]", f"ValueError: {text}")
    _progress("retry", "train", "OSError: [/mnt] gone")
    err = capsys.readouterr().err
    assert all(text in err for text in TEXTS) and "train[/x]" in err and "[/mnt] gone" in err, err


def test_deploy_progress_shows_a_providers_message_as_it_is():
    out = Console(file=io.StringIO(), force_terminal=False, width=200, color_system=None)
    progress = Progress(out=out, poll=3600, live=False)
    for text in TEXTS:
        progress(EngineEvent(kind="diagnostic", message=text))
        progress(EngineEvent(kind="resource-failed", op="create", urn="urn:[/b]", name="bucket[/b]", message=text))
    printed = out.file.getvalue()
    assert all(text in printed for text in TEXTS) and "bucket[/b] create failed" in printed, printed


def test_describe_and_recipes_show_a_recipes_text_as_it_is(home, cli, tmp_path):
    from zenprovision.authoring import generate

    folder = generate("brackets", "local", (), tmp_path / "recipes", force=False)
    pulumi_yaml = folder / "Pulumi.yaml"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace(
        'description: "An MLOps stack for our team"', 'description: "Team [/ml] stack, needs zenprovision[local]"'))
    env = {"ZENPROVISION_RECIPES_PATH": str(tmp_path / "recipes")}
    described = cli("describe", "brackets", env=env)
    assert described.code == 0 and "Team [/ml] stack, needs zenprovision[local]" in described.out, described.err
    listed = cli("recipes", env=env)
    assert listed.code == 0 and "Team [/ml] stack" in listed.out, listed.err
    local = cli("describe", "local")
    assert "pip install 'zenprovision[local]'" in local.out and "pip install 'zenprovision[dask]'" in local.out


def test_teardown_report_and_plan_lines_show_a_providers_text_as_it_is(monkeypatch, fresh_consoles):
    from types import SimpleNamespace

    from click.testing import CliRunner

    from zenprovision import teardown
    from zenprovision.cli import cli
    from zenprovision.cli.plan_view import _line

    monkeypatch.setattr(teardown, "select", lambda *args: [SimpleNamespace(name="dev", env="dev", damaged=False)])
    monkeypatch.setattr(teardown, "teardown", lambda *args: [teardown.Outcome("dev", "failed", TEXTS[1], 1)])
    result = CliRunner().invoke(cli, ["teardown", "--env", "dev", "--yes"])  # through the group: click caches
    # a command's --help option on first use, and a bare command would cache one without -h
    assert result.exit_code == 1 and TEXTS[1] in result.output, result.output
    change = SimpleNamespace(op="create", name="bucket[/b]", type="aws:s3/bucket:Bucket", diffs=[],
                             inputs={"note": "[secret]", "path": "/data/[/x]"})
    out = Console(file=io.StringIO(), width=300, color_system=None)
    out.print(_line(change))
    assert "bucket[/b]" in out.file.getvalue() and "note=[secret]" in out.file.getvalue()


def test_a_home_with_brackets_is_named_whole(cli, tmp_path, monkeypatch):
    """`Stack config: /data/[team]/zp/...` must be the path the user copies, not /data//zp/..."""
    from tests.conftest import FIXTURE_RECIPES

    home = tmp_path / "data [team]" / "zp"
    monkeypatch.setenv("ZENPROVISION_HOME", str(home))
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(FIXTURE_RECIPES))
    deployed = cli("recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 's1'}", "--yes")
    assert deployed.code == 0, deployed.err
    assert f"Stack config: {home / 'stacks' / 's1.yaml'}" in deployed.err
    again = cli("recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 's1'}", "--yes")
    assert f"is up to date ({home / 'stacks' / 's1.yaml'})" in again.err
    pushed = cli("home", "push", str(tmp_path / "team [x]"))
    assert pushed.code == 0 and f"ZENPROVISION_HOME={tmp_path / 'team [x]'}," in pushed.err, pushed.err
    assert cli("destroy", "s1", "--yes").code == 0


def test_recipe_test_names_the_rule_each_violation_breaks(capsys, fresh_consoles, monkeypatch):
    """`[tags-required] bucket: ...`: rich read the rule's name as a tag and dropped it."""
    from click.testing import CliRunner

    from zenprovision.cli import authoring_cmds, cli
    from zenprovision.testing import conformance
    from zenprovision.testing.rules import Violation

    report = conformance.Report("mine", [Violation("tags-required", "bucket", "no zenprovision:stack tag")])
    monkeypatch.setattr(conformance, "check_recipe", lambda recipe, config: report)
    monkeypatch.setattr(authoring_cmds, "load_catalog", lambda paths=(): type("C", (), {"get": lambda self, n: n})())
    result = CliRunner().invoke(cli, ["recipe-test", "mine"])
    assert result.exit_code == 1
    assert "[tags-required] bucket: no zenprovision:stack tag" in result.output + capsys.readouterr().err
