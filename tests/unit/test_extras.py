"""A slim install: the core provisions; a command that needs an extra names it in one line.

The CLI runs in a fresh process with the extra's modules made unimportable (see
tests/fixtures/without_extras), as after ``pip install zenprovision`` without that extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zenprovision import extras
from zenprovision.errors import MissingExtraError

HIDER = Path(__file__).parents[1] / "fixtures" / "without_extras"
EVERY_OPTIONAL_MODULE = sorted({module for modules in extras.EXTRAS.values() for module in modules})


def provision_without(modules, *args, home):
    env = {**os.environ, "ZENPROVISION_HOME": str(home), "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join([str(HIDER), os.environ.get("PYTHONPATH", "")]),
           "ZP_TEST_MISSING_MODULES": ",".join(modules)}
    return subprocess.run([sys.executable, "-m", "zenprovision", *args], capture_output=True, text=True,
                          env=env, timeout=180)


def assert_names_extra(result, extra):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"zenprovision[{extra}]" in lines[0] and "Traceback" not in result.stderr


def test_hider_really_hides(tmp_path):
    result = provision_without(["pulumi_aws"], "--version", home=tmp_path)
    assert result.returncode == 0
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('pulumi_aws'));import pulumi_aws"],
        capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(HIDER), "ZP_TEST_MISSING_MODULES": "pulumi_aws"})
    assert probe.stdout.strip() == "None" and "No module named 'pulumi_aws'" in probe.stderr


def test_the_core_alone_lists_and_describes_recipes(tmp_path):
    for args in (["--help"], ["recipes"], ["describe", "aws-k8s"], ["stacks"]):
        result = provision_without(EVERY_OPTIONAL_MODULE, *args, home=tmp_path)
        assert result.returncode == 0, (args, result.stderr)


def test_offline_plan_of_a_cloud_recipe_names_the_cloud_extra(tmp_path):
    result = provision_without(["pulumi_aws"], "plan", "aws-k8s", "--stack", "dev", "--offline", home=tmp_path)
    assert_names_extra(result, "aws")


@pytest.mark.parametrize("missing, config, extra", [
    (["mlserver"], [], "local"),
    (["distributed"], ["-c", "orchestrator=dask", "-c", "dask_workers=1"], "dask"),
])
def test_local_recipe_without_its_extra_exits_2_and_creates_nothing(tmp_path, missing, config, extra):
    home = tmp_path / "home"
    result = provision_without(missing, "recipe", "local", "--stack", "dev", "--yes", *config, home=home)
    assert_names_extra(result, extra)
    assert not (home / "local" / "dev").exists()
    assert not (home / "stacks" / "dev.yaml").exists()
    listing = provision_without([], "stacks", "--json", home=home)
    assert listing.returncode == 0 and '"dev"' not in listing.stdout


def test_require_names_the_extra_and_the_missing_module(monkeypatch):
    real = extras.importlib.util.find_spec
    monkeypatch.setattr(extras.importlib.util, "find_spec", lambda name: None if name == "s3fs" else real(name))
    extras.require("gcp", "the gcs artifact store", ("gcsfs",))  # present: no error
    with pytest.raises(MissingExtraError) as raised:
        extras.require("aws", "the s3 artifact store", ("s3fs",))
    assert raised.value.exit_code == 2
    assert "'aws' extra" in raised.value.message and "s3fs" in raised.value.message
    assert "pip install 'zenprovision[aws]'" in raised.value.hint


def test_an_import_error_of_an_optional_package_maps_to_its_extra():
    error = extras.missing_extra(ModuleNotFoundError("No module named 'pulumi_gcp'", name="pulumi_gcp.container"))
    assert isinstance(error, MissingExtraError) and "zenprovision[gcp]" in error.hint
    assert extras.missing_extra(ModuleNotFoundError("x", name="some_unrelated_package")) is None
    assert extras.missing_extra(ValueError("x")) is None


def _closure(requirements, extra_env=("",)):
    """Normalised names of the distributions ``requirements`` install, transitively."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, queue = set(), [(Requirement(line), extra_env) for line in requirements]
    while queue:
        requirement, env_extras = queue.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in env_extras):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            lines = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        queue.extend((Requirement(line), ("", *requirement.extras)) for line in lines)
    return seen


def _declared(extra):
    from importlib import metadata

    return [line for line in metadata.requires("zenprovision") if f"extra == '{extra}'" in line]


def _packages_distributions(metadata) -> dict[str, list[str]]:
    """``metadata.packages_distributions()`` as Python 3.11 computes it: Python 3.10's reads only
    ``top_level.txt``, which wheels not built by setuptools (mlserver's, gcsfs's) do not have."""
    found: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        names = (dist.read_text("top_level.txt") or "").split() or {
            path.parts[0] if len(path.parts) > 1 else path.with_suffix("").name
            for path in dist.files or [] if path.suffix == ".py"}
        for name in names:
            found.setdefault(name, []).append(dist.metadata["Name"])
    return found


@pytest.mark.parametrize("extra", sorted(extras.EXTRAS))
def test_every_module_of_the_table_is_installed_by_its_extra(extra):
    """The extra named in an error must really bring the module that was missing."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    installs = _closure(_declared(extra), extra_env=(extra,))
    providers = _packages_distributions(metadata)
    for module in extras.EXTRAS[extra]:
        assert {canonicalize_name(d) for d in providers[module]} & installs, (extra, module)


def test_the_core_is_provisioning_only():
    """``pip install zenprovision`` brings no model server, Dask, scikit-learn or cloud SDK."""
    from importlib import metadata

    from packaging.requirements import Requirement

    core = {Requirement(line).name for line in metadata.requires("zenprovision") if "extra ==" not in line}
    assert core == {"pulumi", "click", "rich", "pydantic", "pyyaml", "platformdirs", "psutil", "fsspec",
                    "pathspec", "cookiecutter"}
    heavy = {"mlserver", "scikit-learn", "dask", "distributed", "numpy", "pandas", "scipy", "pulumi-aws",
             "pulumi-gcp", "boto3", "kubernetes", "grpcio-tools"}
    assert not _closure(sorted(core)) & heavy
