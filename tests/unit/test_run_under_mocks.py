"""run_under_mocks reports the program's own error, whatever the process prints while it exits."""

from __future__ import annotations

import pytest

from zenprovision.errors import OperationFailed
from zenprovision.testing import run_under_mocks

PROGRAM = '''
import atexit, sys
atexit.register(lambda: print("ValueError: Invalid file descriptor: -1", file=sys.stderr))
raise ValueError("api_allowed_cidrs 0.0.0.0/0 opens the API to the whole internet")
'''


def test_the_programs_error_is_reported_not_the_noise_after_it(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: noisy\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    with pytest.raises(OperationFailed) as caught:
        run_under_mocks(tmp_path, {})
    assert caught.value.message == ("recipe " + tmp_path.name + " failed under mocks: "
                                    "ValueError: api_allowed_cidrs 0.0.0.0/0 opens the API to the whole internet")


def test_a_program_that_prints_json_of_its_own_and_fails_is_one_clear_error(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: chatty\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import os\nprint(42, flush=True)\nos._exit(3)\n")
    with pytest.raises(OperationFailed, match="failed under mocks"):
        run_under_mocks(tmp_path, {})
