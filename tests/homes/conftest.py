"""A team home in a fresh moto bucket, and a way to look at it as another machine would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import unique_bucket_name


@dataclass
class TeamHome:
    url: str
    bucket: str
    prefix: str
    local: Path  # this machine's folder (ZENPROVISION_LOCAL_HOME)
    client: object

    def keys(self) -> list[str]:
        """Every object under the home, relative to it."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/")
        return sorted(o["Key"][len(self.prefix) + 1:] for page in pages for o in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")["Body"].read()

    def machine(self, name: str) -> dict[str, str]:
        """The environment of another machine using the same home (its own local folder)."""
        return {"ZENPROVISION_HOME": self.url, "ZENPROVISION_LOCAL_HOME": str(self.local.parent / name)}


@pytest.fixture
def team_home(moto_server, s3_client, tmp_path, monkeypatch) -> TeamHome:
    """``ZENPROVISION_HOME=s3://<fresh bucket>/team/zp`` for this process and the CLI it starts."""
    bucket = unique_bucket_name("team")
    s3_client.create_bucket(Bucket=bucket)
    local = tmp_path / "laptop"
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("ZENPROVISION_HOME", f"s3://{bucket}/team/zp")
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(local))
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    return TeamHome(f"s3://{bucket}/team/zp", bucket, "team/zp", local, s3_client)
