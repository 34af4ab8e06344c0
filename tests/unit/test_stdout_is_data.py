"""stdout is data, stderr is progress: results of plan, doctor and refresh can be redirected."""

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig


def _provision(home: Path, line: str, **env: str) -> subprocess.CompletedProcess:
    """Run a shell line with `provision` on PATH, as a user types it."""
    bin_dir = Path(sys.executable).parent
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=120,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin", "ZENPROVISION_HOME": str(home), "COLUMNS": "200",
                               **env})


def test_doctor_redirected_writes_the_report(home, tmp_path):
    store.save(StackConfig(
        name="dev", recipe="local", engine="embedded", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        components={"artifact_store": {"flavor": "local", "config": {"path": f"file://{tmp_path / 'artifacts'}"}},
                    "orchestrator": {"flavor": "local", "config": {"workers": 1}},
                    "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:9"}}}))
    report = tmp_path / "report.txt"
    done = _provision(home, f"provision doctor dev > {report}")
    assert done.returncode == 1  # the model server is not running
    lines = report.read_text().splitlines()
    assert any(line.startswith("✓ artifact store") for line in lines), lines
    assert any(line.startswith("✗ model server") for line in lines), lines
    assert "artifact store" not in done.stderr


def test_plan_redirected_writes_the_plan_and_keeps_warnings_apart(home, tmp_path, fixture_recipes):
    plan = tmp_path / "plan.txt"
    done = _provision(home, f"provision plan cloudish --stack c -c bucket_name=mine > {plan}",
                      ZENPROVISION_RECIPES_PATH=str(fixture_recipes))
    assert done.returncode == 0, done.stderr
    text = plan.read_text()
    assert "+ artifacts" in text and "Plan: 1 to create" in text
    assert "cannot be applied by the embedded engine" in done.stderr and "cannot be applied" not in text
