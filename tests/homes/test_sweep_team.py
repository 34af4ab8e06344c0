"""``provision sweep`` from a fresh machine judges orphans against the team's shared registry."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from tests.unit.test_sweep import account, make_bucket, save_config_only, sweep  # noqa: F401 (a fixture)
from zenprovision.stacks import registry


def test_a_fresh_machine_sees_the_shared_registry_and_finds_no_false_orphans(account, tmp_path,  # noqa: F811
                                                                              monkeypatch):
    home_bucket = f"zp-home-{uuid.uuid4().hex[:12]}"
    account.client("s3").create_bucket(Bucket=home_bucket)  # in the sweep's account, as a team would
    monkeypatch.setenv("AWS_ENDPOINT_URL", account.endpoint)
    monkeypatch.setenv("ZENPROVISION_HOME", f"s3://{home_bucket}/zp")
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "deployers-laptop"))
    created = datetime(2026, 12, 1, tzinfo=timezone.utc)
    registry.save(registry.StackRecord(name="alive", recipe="aws-k8s", engine="pulumi", created_at=created,
                                       status="active"))
    save_config_only("known")
    suffix = uuid.uuid4().hex[:10]
    for stack in ("alive", "known", "ghost"):
        make_bucket(account, f"zp-{stack}-{suffix}", stack)

    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "fresh-ci-runner"))  # nothing local at all
    result = sweep("--json")
    assert result.code == 0, result.err
    assert {row["stack"] for row in json.loads(result.out)} == {"ghost"}
    assert "kept: alive, known" in result.err and f"s3://{home_bucket}/zp" in result.err
    assert not (tmp_path / "fresh-ci-runner" / "registry").exists()

    monkeypatch.setenv("ZENPROVISION_HOME", str(tmp_path / "a-private-home"))  # what it was before: a guess
    alone = sweep("--json")
    assert {row["stack"] for row in json.loads(alone.out)} == {"alive", "known", "ghost"}
