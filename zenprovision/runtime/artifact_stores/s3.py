"""Artifact store on S3 and S3-compatible services (flavor ``s3``), through s3fs.

Config: ``bucket``, optional ``prefix``, ``region`` and ``endpoint_url`` (MinIO, LocalStack,
a moto server). Credentials come from the environment or the instance role, never from
the stack config.
"""

from __future__ import annotations

from typing import Any

from zenprovision.runtime.artifact_stores.base import BaseArtifactStore


class S3ArtifactStore(BaseArtifactStore):
    flavor = "s3"

    def _filesystem(self) -> tuple[Any, str]:
        import s3fs

        client_kwargs = {}
        if self.config.get("region"):
            client_kwargs["region_name"] = self.config["region"]
        fs = s3fs.S3FileSystem(
            endpoint_url=self.config.get("endpoint_url") or None,
            client_kwargs=client_kwargs,
            skip_instance_cache=True,
            use_listings_cache=False,  # another process may have written or deleted since
            config_kwargs={"connect_timeout": 5, "read_timeout": 30, "retries": {"max_attempts": 2}},
        )
        return fs, "/".join(p for p in (self.config["bucket"], self.config.get("prefix", "").strip("/")) if p)

    @property
    def endpoint(self) -> str:
        where = self.config.get("endpoint_url") or f"AWS S3 ({self.config.get('region', 'default region')})"
        return f"s3://{self.config.get('bucket')} at {where}"
