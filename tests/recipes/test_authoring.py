"""`provision new`: generated recipes work straight away, for every cloud."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import servers_under


def generated_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def generate(cli, tmp_path, cloud):
    """``provision new team-<cloud>`` into tmp_path/recipes, with a HOME that must stay empty."""
    fake_home = tmp_path / "user-home"
    fake_home.mkdir()
    out = tmp_path / "recipes"
    name = f"team-{cloud}"
    result = cli("new", name, "--cloud", cloud, "--output-dir", str(out), "--no-input", env={"HOME": str(fake_home)})
    assert result.code == 0, result.err
    assert "Next steps" in result.out
    assert list(fake_home.iterdir()) == []  # cookiecutter's replay and cache live under the home
    return name, out


@pytest.mark.slow
@pytest.mark.parametrize("cloud", ["aws", "gcp", "local"])
def test_generated_recipe_is_listed_planned_and_tested(home, cli, tmp_path, cloud):
    name, out = generate(cli, tmp_path, cloud)
    assert generated_files(out / name) == ["Pulumi.yaml", "README.md", "__main__.py", "recipe.yaml",
                                           f"tests/test_team_{cloud}.py"]
    assert (home / "cookiecutter" / "replay").is_dir()
    listed = json.loads(cli("recipes", "--path", str(out), "--json").out)
    assert name in [r["name"] for r in listed]
    env = {"ZENPROVISION_RECIPES_PATH": str(out)}
    plan = cli("plan", name, "--stack", "t", "--offline", env=env)
    assert plan.code == 0, plan.err
    assert cli("recipe-test", name, env=env).code == 0


# The nested suite is the same conformance check as `recipe-test`, run by the generated
# recipe's own pytest file: one cloud proves the file works by default; all three with -m slow.
NESTED = ["local", pytest.param("aws", marks=pytest.mark.slow_only), pytest.param("gcp", marks=pytest.mark.slow_only)]


@pytest.mark.slow
@pytest.mark.parametrize("cloud", NESTED)
def test_generated_recipe_passes_its_own_tests(home, cli, tmp_path, cloud):
    name, out = generate(cli, tmp_path, cloud)
    env = {"ZENPROVISION_RECIPES_PATH": str(out)}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(out / name / "tests")],
                           capture_output=True, text=True, env={**os.environ, **env}, cwd=tmp_path, timeout=600)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
    if cloud == "local":
        assert cli("recipe", name, "--stack", "t", "--yes", env=env).code == 0
        assert len(servers_under(home)) == 1
        assert cli("destroy", "t", "--yes", env=env).code == 0
        assert servers_under(home) == []


def test_a_file_where_the_recipe_folder_goes_is_refused_even_with_force(home, cli, tmp_path):
    (tmp_path / "taken").write_text("mine")
    result = cli("new", "taken", "--cloud", "local", "--output-dir", str(tmp_path), "--no-input", "--force")
    assert result.code == 2 and f"{tmp_path / 'taken'} is a file" in result.err and "Created" not in result.out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".taken")]  # no staging folder left
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.parametrize("args, message", [
    (["Bad_Name", "--cloud", "aws"], "invalid recipe name"),
    (["ok-name", "--cloud", "aws", "--component", "model_server=seldon"], "not available for cloud aws"),
    (["ok-name", "--cloud", "gcp", "--component", "gpu=a100"], "known kind"),
    (["ok-name", "--cloud", "azure"], "'azure' is not one of"),
])
def test_bad_input_writes_nothing(home, cli, tmp_path, args, message):
    result = cli("new", *args, "--output-dir", str(tmp_path / "out"), "--no-input")
    assert result.code == 2 and message in result.err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_existing_folder_needs_force_and_components_shape_the_recipe(home, cli, tmp_path):
    args = ["new", "lean", "--cloud", "aws", "--component", "container_registry=none", "--output-dir", str(tmp_path),
            "--no-input"]
    assert cli(*args).code == 0
    assert "container_registry" not in (tmp_path / "lean" / "recipe.yaml").read_text()
    assert "ecr" not in (tmp_path / "lean" / "__main__.py").read_text().lower()
    (tmp_path / "lean" / "notes.txt").write_text("mine")
    refused = cli(*args)
    assert refused.code == 2 and "already exists" in refused.err
    assert cli(*args, "--force").code == 0
    assert (tmp_path / "lean" / "notes.txt").read_text() == "mine"  # --force overwrites template files only
    report = json.loads(cli("recipe-test", "lean", "--path", str(tmp_path), "--json").out)
    assert report["ok"] is True


def test_prompts_take_answers(home, cli, tmp_path):
    answers = "\n".join(["Fraud models", "risk-team"]) + "\n"  # the name is given, no GCP project for local
    result = cli("new", "fraud", "--cloud", "local", "--output-dir", str(tmp_path), input=answers)
    assert result.code == 0, result.err
    assert "Fraud models" in (tmp_path / "fraud" / "Pulumi.yaml").read_text()
    assert "risk-team" in (tmp_path / "fraud" / "__main__.py").read_text()


@pytest.mark.slow
def test_generated_aws_recipe_keeps_its_control_plane_private(home, cli, tmp_path):
    """The template's EKS control plane sits in the private subnets, in zones asked of AWS."""
    from zenprovision.recipes.catalog import Catalog
    from zenprovision.recipes.schema import resolve
    from zenprovision.testing import run_under_mocks

    name, out = generate(cli, tmp_path, "aws")
    recipe = Catalog([out]).get(name)
    record = run_under_mocks(recipe.path, resolve(recipe.config, {}, name),
                             {"stack": "t", "recipe": name, "env": "dev", "owner": "alice"})
    subnets = {s.name: s.inputs for s in record.of_type("aws:ec2/subnet:Subnet")}
    private = {f"{n}-id" for n in subnets if "-private-" in n}
    assert private and len(private) < len(subnets)
    cluster = record.one("aws:eks/cluster:Cluster").inputs
    assert set(cluster["vpcConfig"]["subnetIds"]) == private
    assert {inputs["availabilityZone"] for inputs in subnets.values()} <= {f"us-east-1{c}" for c in "abcd"}


@pytest.mark.parametrize("hook", ["pre_gen_project", "post_gen_project"])
def test_ctrl_c_mid_generation_leaves_no_recipe_folder_and_a_rerun_works(home, tmp_path, monkeypatch, hook):
    """Interrupted while its hooks run (the template half or wholly rendered), `provision new` leaves nothing."""
    import cookiecutter.generate

    from zenprovision.authoring import generate as generate_recipe

    real = cookiecutter.generate.run_hook_from_repo_dir

    def interrupted(repo_dir, hook_name, *args, **kwargs):
        if hook_name == hook:
            raise KeyboardInterrupt
        return real(repo_dir, hook_name, *args, **kwargs)

    out = tmp_path / "recipes"
    monkeypatch.setattr(cookiecutter.generate, "run_hook_from_repo_dir", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate_recipe("half", "local", (), out, force=False)
    assert not out.exists()  # neither the staging folder nor the output folder it made
    monkeypatch.setattr(cookiecutter.generate, "run_hook_from_repo_dir", real)
    assert generate_recipe("half", "local", (), out, force=False) == out / "half"
    assert generated_files(out / "half") == ["Pulumi.yaml", "README.md", "__main__.py", "recipe.yaml",
                                                  "tests/test_half.py"]
    assert [p.name for p in out.iterdir()] == ["half"]


def test_answers_with_quotes_colons_and_backslashes_make_a_recipe_that_loads(home, cli, tmp_path):
    """A description such as `Fraud: train and serve` is text in Pulumi.yaml and the docstring, not syntax."""
    import ast

    import yaml

    description, team, project = 'Fraud: "train" & serve \\ é """ #1', 'risk: "a"', "acme: ml"
    result = cli("new", "fraud", "--cloud", "gcp", "--output-dir", str(tmp_path),
                 input="\n".join([description, team, project]) + "\n")
    assert result.code == 0, result.err
    assert f"export ZENPROVISION_RECIPES_PATH={tmp_path}\n" in result.out  # where the recipe is, not where it was made
    pulumi_yaml = yaml.safe_load((tmp_path / "fraud" / "Pulumi.yaml").read_text())
    assert pulumi_yaml["description"] == description
    assert pulumi_yaml["config"]["project"]["default"] == project
    docstring = ast.get_docstring(ast.parse((tmp_path / "fraud" / "__main__.py").read_text()))
    assert docstring.startswith(f"fraud: {description} (owned by {team}).")
    described = cli("describe", "fraud", env={"ZENPROVISION_RECIPES_PATH": str(tmp_path)})
    assert described.code == 0 and description in described.out, described.err
