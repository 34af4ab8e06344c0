"""A credential pasted on the command line is refused, and kept nowhere: not in the stack's log, not under
--verbose, not in the stack's history."""

import pytest

from zenprovision.stacks import registry
from zenprovision.stacks.secrets import scrub_text

PASTED = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("verbose", [[], ["-v"]], ids=["plain", "verbose"])
def test_a_pasted_credential_is_in_no_output_and_no_file_of_the_home(home, cli, verbose):
    result = cli(*verbose, "plan", "local", "--stack", "dev", "-c", "orchestrator=dask",
                 "-c", f"dask_worker_env=AWS_SECRET_ACCESS_KEY={PASTED}")
    assert result.code == 2, result.err
    assert "is not an environment variable name" in result.err
    assert PASTED not in result.out + result.err
    logs = list((home / "logs").glob("*.log"))
    assert logs, "the error names a log: it must exist"
    assert "Traceback" in logs[0].read_text()  # the log keeps the traceback, masked
    leaked = [path for path in home.rglob("*") if path.is_file() and PASTED.encode() in path.read_bytes()]
    assert leaked == []


def test_a_failure_recorded_in_the_stacks_history_is_masked(home):
    record = registry.StackRecord(name="dev", recipe="local", engine="embedded", created_at=registry.now())
    registry.begin(record, "deploy", "deploying")
    registry.finish(record, "deploy-failed", error=f"ValueError: bad value password={PASTED}")
    assert PASTED not in (registry.load("dev").last.error or "")


def test_a_masked_pair_is_masked_once():
    line = scrub_text("worker_env: 'AWS_SECRET_ACCESS_KEY=AKIAABCDEFGHIJKLMNOP' is not a name")
    assert line == "worker_env: 'AWS_SECRET_ACCESS_KEY=[secret]' is not a name"
