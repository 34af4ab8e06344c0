"""An S3 bucket fit to hold artifacts: private, encrypted, versioning as configured."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.labels import StackLabels


@dataclass
class S3ArtifactStoreArgs:
    labels: StackLabels
    region: str
    force_destroy: bool
    versioning: bool = True


class S3ArtifactStore(pulumi.ComponentResource):
    bucket: aws.s3.Bucket

    def __init__(self, name: str, args: S3ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:S3ArtifactStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=args.labels.resource_name("artifacts-", limit=37),
            force_destroy=args.force_destroy,
            tags=args.labels.aws_tags(),
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled" if args.versioning else "Suspended"},
            opts=child,
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})
