"""Artifact store on Google Cloud Storage (flavor ``gcs``), through gcsfs.

Config: ``bucket``, optional ``prefix``, ``project`` and ``endpoint_url`` (an emulator).
Credentials come from the environment (Workload Identity, ADC), never from the config.
"""

from __future__ import annotations

import os
from typing import Any

from zenprovision.runtime.artifact_stores.base import BaseArtifactStore


class GCSArtifactStore(BaseArtifactStore):
    flavor = "gcs"

    def _filesystem(self) -> tuple[Any, str]:
        # gcsfs otherwise probes for hierarchical namespaces over gRPC and can hang.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        import gcsfs

        endpoint = self.config.get("endpoint_url") or None
        fs = gcsfs.GCSFileSystem(
            project=self.config.get("project"),
            endpoint_url=endpoint,
            token="anon" if endpoint else None,
            skip_instance_cache=True,
            use_listings_cache=False,  # another process may have written or deleted since
        )
        return fs, "/".join(p for p in (self.config["bucket"], self.config.get("prefix", "").strip("/")) if p)

    @property
    def endpoint(self) -> str:
        where = self.config.get("endpoint_url") or "Google Cloud Storage"
        return f"gs://{self.config.get('bucket')} at {where}"
