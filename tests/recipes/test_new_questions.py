"""`provision new` asks only what it does not know, on stderr, and a refusal leaves nothing on disk.

The name comes from the command line and is not asked again; a question about another cloud
(`gcp_project`) is not asked; a bad name, or a failure inside cookiecutter, is one line with
exit code 2 and neither the output folder nor a staging folder stays behind.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys

import yaml

DESCRIBE, OWNER, PROJECT = "One line about the stack", "Team that owns the recipe", "Google Cloud project"


def asked(err: str) -> list[str]:
    """The questions in a run's stderr, in order."""
    return [q for q in (DESCRIBE, OWNER, PROJECT, "recipe_name") if q in err]


def left(tmp_path) -> list[str]:
    """What a test's folder holds besides the home (``ZENPROVISION_HOME``)."""
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "home")


def test_the_name_given_is_not_asked_again(home, cli, tmp_path):
    result = cli("new", "fraud", "--cloud", "local", "--output-dir", str(tmp_path), input="Fraud models\nrisk-team\n")
    assert result.code == 0, result.err
    assert asked(result.err) == [DESCRIBE, OWNER]
    assert yaml.safe_load((tmp_path / "fraud" / "Pulumi.yaml").read_text())["name"] == "fraud"
    assert "Fraud models" in (tmp_path / "fraud" / "Pulumi.yaml").read_text()
    assert left(tmp_path) == ["fraud"]


def test_questions_go_to_stderr_and_stdout_keeps_the_report(home, cli, tmp_path):
    result = cli("new", "fraud", "--cloud", "local", "--output-dir", str(tmp_path), input="\n\n")
    assert result.code == 0, result.err
    assert result.out.startswith("Created recipe fraud in ") and not asked(result.out)
    assert asked(result.err) == [DESCRIBE, OWNER]


def test_aws_and_local_are_not_asked_for_a_gcp_project_and_gcp_is(home, cli, tmp_path):
    for cloud in ("aws", "local"):
        result = cli("new", f"team-{cloud}", "--cloud", cloud, "--output-dir", str(tmp_path), input="d\nt\n")
        assert result.code == 0, result.err
        assert asked(result.err) == [DESCRIBE, OWNER]
        assert "gcp" not in (tmp_path / f"team-{cloud}" / "Pulumi.yaml").read_text()
    result = cli("new", "team-gcp", "--cloud", "gcp", "--output-dir", str(tmp_path), input="d\nt\nacme-ml\n")
    assert result.code == 0, result.err
    assert asked(result.err) == [DESCRIBE, OWNER, PROJECT]
    assert yaml.safe_load((tmp_path / "team-gcp" / "Pulumi.yaml").read_text())["config"]["project"]["default"] == \
        "acme-ml"


def test_no_input_asks_nothing_and_takes_the_defaults(home, cli, tmp_path):
    result = cli("new", "team-gcp", "--cloud", "gcp", "--output-dir", str(tmp_path), "--no-input", input="")
    assert result.code == 0, result.err
    assert asked(result.err) == []
    pulumi_yaml = yaml.safe_load((tmp_path / "team-gcp" / "Pulumi.yaml").read_text())
    assert pulumi_yaml["config"]["project"]["default"] == "my-gcp-project"
    assert pulumi_yaml["description"] == "An MLOps stack for our team"


def test_an_answer_that_looks_like_jinja_is_text(home, cli, tmp_path):
    """cookiecutter renders what it is given as Jinja; an answer must come out as typed."""
    description = "Fraud {{ cookiecutter.recipe_name }} {% if x %}{{ nope }} é 🧪 \\ \""
    result = cli("new", "fraud", "--cloud", "local", "--output-dir", str(tmp_path), input=f"{description}\nrisk\n")
    assert result.code == 0, result.err
    docstring = ast.get_docstring(ast.parse((tmp_path / "fraud" / "__main__.py").read_text()))
    assert docstring.startswith(f"fraud: {description} (owned by risk).")


def test_any_text_typed_reads_back_the_same_from_the_recipes_pulumi_yaml(home, cli, tmp_path):
    """Jinja's tojson wrote an emoji as a UTF-16 surrogate pair, which no YAML reader takes back."""
    from zenprovision.recipes.recipe import load_recipe

    description, project = 'Rockets 🚀 <ML> & "co" it\'s \\ # not a comment: é', "acme 🧪 'ml'"
    result = cli("new", "fraud", "--cloud", "gcp", "--output-dir", str(tmp_path),
                 input=f"{description}\nrisk\n{project}\n")
    assert result.code == 0, result.err
    project_file = yaml.safe_load((tmp_path / "fraud" / "Pulumi.yaml").read_text())
    assert project_file["description"] == description
    assert project_file["config"]["project"]["default"] == project
    assert load_recipe(tmp_path / "fraud", source="path").summary()["description"] == description


def test_a_bad_name_is_one_line_before_any_question_and_writes_nothing(home, cli, tmp_path):
    out = tmp_path / "new" / "recipes"
    result = cli("new", "Bad_Name", "--cloud", "local", "--output-dir", str(out), input="d\nt\n")
    assert result.code == 2
    assert result.err.splitlines() == ["Error: invalid recipe name 'Bad_Name' (use 3-40 lowercase letters, digits "
                                       "and single dashes, starting with a letter)"]
    assert left(tmp_path) == []


def run_patched(patch: str, *args: str, cwd) -> subprocess.CompletedProcess:
    """``provision ARGS`` in a fresh process after ``patch`` ran in it: how to make cookiecutter fail."""
    script = f"import sys\nimport zenprovision.authoring as authoring\n{patch}\n" \
             f"sys.argv = ['provision', *{list(args)!r}]\nfrom zenprovision.cli import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=240,
                          stdin=subprocess.DEVNULL)


def test_a_name_the_templates_hook_refuses_is_one_error_and_leaves_nothing(home, tmp_path):
    """zenprovision's check and the template's own hook disagree (as after an edit of one of them):
    the hook's failure is an input error, no cookiecutter traceback, and the folders made are gone."""
    out = tmp_path / "new" / "recipes"
    result = run_patched("authoring.validate_name = lambda name: name", "new", "Bad_Name", "--cloud", "local",
                         "--output-dir", str(out), "--no-input", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Stopping generation" not in result.stderr
    assert result.stderr.splitlines() == [
        "error: invalid recipe name 'Bad_Name' (use 3-40 lowercase letters, digits and single dashes, starting with "
        "a letter)",  # the hook's own line, then zenprovision's
        "Error: the recipe template's hook refused recipe 'Bad_Name' (Hook script failed (exit status: 1)) "
        "(the hook printed why above; nothing was written)"]
    assert result.stdout == ""
    assert left(tmp_path) == []


def test_a_template_that_cannot_be_rendered_is_one_error_and_leaves_nothing(home, tmp_path):
    from zenprovision.authoring import TEMPLATE

    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template)
    (template / "{{cookiecutter.recipe_name}}" / "NOTES.md").write_text("{{ cookiecutter.no_such_answer }}\n")
    out = tmp_path / "new" / "recipes"
    result = run_patched(f"from pathlib import Path\nauthoring.TEMPLATE = Path({str(template)!r})", "new", "fine",
                         "--cloud", "local", "--output-dir", str(out), "--no-input", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: the recipe template could not be rendered: Unable to create file 'NOTES.md'")
    assert "has no attribute 'no_such_answer'" in line and "run with --verbose for the traceback" in line
    assert "owner_team" not in line  # not cookiecutter's dump of every answer
    assert left(tmp_path) == ["template"]


def test_a_folder_that_cannot_be_written_is_one_error_and_leaves_nothing(home, cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = cli("new", "fine", "--cloud", "local", "--output-dir", str(blocker / "recipes"), "--no-input")
    assert result.code == 2 and result.err.startswith("Error: cannot write a recipe into ")
    assert len(result.err.splitlines()) == 1
    assert left(tmp_path) == ["file"]


def test_input_that_ends_before_the_answers_names_no_input_and_writes_nothing(home, cli, tmp_path):
    """A script that forgot --no-input: one line, exit 2, not a bare 'Aborted'."""
    out = tmp_path / "new" / "recipes"
    result = cli("new", "scripted", "--cloud", "local", "--output-dir", str(out), input="only a description\n")
    assert result.code == 2
    assert result.err.splitlines()[-1] == ("Error: no answer to 'Team that owns the recipe': the input ended "
                                           "(answer the questions, or pass --no-input to take the defaults)")
    assert left(tmp_path) == []


def test_an_answer_that_is_not_text_is_one_line_and_writes_nothing(home, tmp_path):
    """Bytes no UTF-8 terminal sends (``\\xff``) arrive as lone surrogates, which no file can hold."""
    out = tmp_path / "new"
    result = subprocess.run([sys.executable, "-m", "zenprovision", "new", "demo", "--cloud", "local", "--output-dir",
                             str(out)], input=b"\xff\xfe bad\n\n", capture_output=True, timeout=120,
                            env={**os.environ, "PYTHONUTF8": "1"})
    err = result.stderr.decode(errors="replace")
    assert result.returncode == 2, err
    assert err.splitlines()[-1] == ("Error: the answer to 'One line about the stack' is not valid text in the "
                                    "terminal's encoding (type it again in UTF-8)")
    assert left(tmp_path) == []
