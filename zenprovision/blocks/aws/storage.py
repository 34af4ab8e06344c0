"""An S3 bucket fit to hold artifacts: private, encrypted, TLS only, versioning as configured,
old versions expiring."""

from __future__ import annotations

import json
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
    noncurrent_days: int = 30  # overwritten or deleted artifacts are kept this long; 0 keeps them forever


def tls_only_policy(bucket_arn: str) -> str:
    """Deny every request that does not use TLS (CIS AWS 2.1.1)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]})


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
        access_block = aws.s3.BucketPublicAccessBlock(
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
        aws.s3.BucketPolicy(f"{name}-tls-only", bucket=self.bucket.id, policy=self.bucket.arn.apply(tls_only_policy),
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_block]))
        if args.noncurrent_days > 0:
            aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=self.bucket.id, opts=child, rules=[{
                "id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }])
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})
