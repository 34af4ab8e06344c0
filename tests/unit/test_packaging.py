"""The wheel carries the built-in recipes, so a user without the repository has them."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest


@pytest.mark.timeout(120)
def test_wheel_ships_builtin_recipes(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        capture_output=True, text=True, cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("zenprovision-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for recipe in ("local", "aws-k8s", "gcp-k8s"):
        for part in ("Pulumi.yaml", "__main__.py", "recipe.yaml"):
            assert f"zenprovision/_stack_recipes/{recipe}/{part}" in names
    for part in ("PulumiPolicy.yaml", "__main__.py", "requirements.txt"):  # the policy pack
        assert f"zenprovision/policy/pack/{part}" in names
    template = "zenprovision/templates/recipe/"
    assert f"{template}cookiecutter.json" in names and f"{template}hooks/pre_gen_project.py" in names
    assert f"{template}{{{{cookiecutter.recipe_name}}}}/__main__.py" in names
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "provision = zenprovision.cli:main" in entry_points
    assert "zenprovision = zenprovision.cli:main" in entry_points


@pytest.mark.timeout(120)
def test_wheel_core_requirements_are_provisioning_only(tmp_path):
    """The published metadata, not just pyproject: heavy packages appear only under an extra."""
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
                   check=True, capture_output=True, cwd=Path(__file__).parents[2])
    wheel = zipfile.ZipFile(next(tmp_path.glob("zenprovision-*.whl")))
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith("METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    core = [line for line in requires if "extra ==" not in line]
    for heavy in ("mlserver", "scikit-learn", "dask", "pulumi-aws", "pulumi-gcp", "boto3", "kubernetes"):
        assert not any(line.startswith(heavy) for line in core), heavy
        assert any(line.startswith(heavy) for line in requires), heavy  # still offered as an extra
    provides = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert {"local", "dask", "kubernetes", "aws", "gcp", "policy", "all", "dev"} <= provides
