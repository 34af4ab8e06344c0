"""Issue 11, item 7: a Kubernetes stack names its step image; without one, `provision run`
stops before any Job exists, in one line that says how to get an image."""

from __future__ import annotations

from tests.runtime.test_kubernetes import (
    NAMESPACE,
    SERVICE_ACCOUNT,
    SHAPES,
    error_line,
    fake,
    markers,
    save_stack,
)

__all__ = ["fake", "markers"]  # fixtures, used by name


def test_run_without_a_step_image_exits_2_before_creating_jobs(home, s3_bucket, fake, tmp_path, markers, cli):
    save_stack("old", {"flavor": "s3", "config": s3_bucket}, {
        "namespace": NAMESPACE, "service_account": SERVICE_ACCOUNT, "kubeconfig": "pulumi:kubeconfig",
        "kubeconfig_path": str(fake.write_kubeconfig(tmp_path / "kubeconfig")), "poll_seconds": 0.05,
    })
    result = cli("run", f"{SHAPES}:fanout", "--stack", "old", "-p", "seconds=0")
    assert result.code == 2
    line = error_line(result.err)
    assert "stack 'old' names no image for its pipeline steps" in line
    assert "docs/images/README.md" in result.err
    assert fake.created_of("jobs") == []
