"""A GCS bucket fit to hold artifacts: uniform access, public access prevented, encrypted
at rest by Google, versioning as configured, old versions expiring."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from zenprovision.blocks.labels import StackLabels


@dataclass
class GcsArtifactStoreArgs:
    labels: StackLabels
    project: str
    location: str
    force_destroy: bool
    versioning: bool = True
    noncurrent_days: int = 30  # overwritten or deleted artifacts are kept this long; 0 keeps them forever


class GcsArtifactStore(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket

    def __init__(self, name: str, args: GcsArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:gcp:GcsArtifactStore", name, None, opts)
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=args.labels.resource_name(f"artifacts-{args.project}"),
            project=args.project,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": args.versioning},
            lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {
                "days_since_noncurrent_time": args.noncurrent_days, "with_state": "ARCHIVED"}}]
            if args.noncurrent_days > 0 else [],
            force_destroy=args.force_destroy,
            labels=args.labels.gcp_labels(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"bucket": self.bucket.name})
