"""The suite passes in a developer's shell too: settings it has exported (zenprovision's own, as
`eval "$(provision output dev --format env)"` or a user sets them, and rich's FORCE_COLOR) are
dropped before any test runs, and each test sets what it needs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a nested pytest: about 6 s
def test_tests_that_compare_output_pass_in_a_shell_with_its_own_settings(tmp_path):
    shell = {**os.environ, "FORCE_COLOR": "1", "ZENPROVISION_NO_PICKLE": "1",
             "ZENPROVISION_NOW": "2026-01-01T00:00:00Z", "ZENPROVISION_BACKEND": f"file://{tmp_path}/backend"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--basetemp",
         str(tmp_path / "inner"), "tests/unit/test_cli_table.py", "tests/unit/test_unlock_cmd.py",
         "tests/unit/test_stack_lifecycle.py::test_labels_go_into_config_record_and_listing"],
        cwd=ROOT, env=shell, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
