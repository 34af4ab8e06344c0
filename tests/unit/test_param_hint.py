"""``-p`` without ``=`` is named as a parameter and its hint shows ``-p``, not ``-c``; it is
refused before the pipeline file is imported."""

from __future__ import annotations

import textwrap

from tests.runtime.conftest import make_stack

PIPELINE = """
from pathlib import Path

Path(__file__).with_suffix(".imported").touch()

from zenprovision import pipeline, step

@step
def make(c: int) -> int:
    return c

@pipeline
def one(c: int = 1):
    make(c=c)
"""


def test_a_parameter_without_equals_sign_names_p_in_its_hint(home, cli, tmp_path):
    make_stack("ph", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    target = tmp_path / "one.py"
    target.write_text(textwrap.dedent(PIPELINE))
    result = cli("run", str(target), "--stack", "ph", "-p", "c")
    assert result.code == 2, result.err
    assert result.err.strip() == "Error: parameter 'c' is not KEY=VALUE (e.g. -p c=VALUE)"
    assert not target.with_suffix(".imported").exists()


def test_a_config_value_without_equals_sign_names_c(home, cli):
    result = cli("recipe", "local", "--stack", "dev", "-c", "workers", "--yes")
    assert result.code == 2 and result.err.strip() == "Error: config value 'workers' is not KEY=VALUE (e.g. -c workers=VALUE)"
