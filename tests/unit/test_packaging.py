"""The wheel carries the built-in recipes, so a user without the repository has them."""

import subprocess
import sys
import zipfile

import pytest


@pytest.mark.timeout(120)
def test_wheel_ships_builtin_recipes(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        capture_output=True, text=True,
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
