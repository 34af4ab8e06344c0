"""The IRSA role of the teardown CronJob: the team's home, and deleting env dev stacks only.

Read and write only under the home's prefix. Delete only what the recipes create and only
where it carries the tag ``zenprovision:env=dev`` (``aws:ResourceTag``), for every service
whose delete actions honour that condition (EC2, EKS, IAM, ECR, CloudWatch Logs, KMS).
What AWS cannot narrow by tag is listed apart: read-only Describe calls, and S3 buckets
(tag conditions need S3 ABAC, which is off by default), which are narrowed by the ``zp-``
name every recipe bucket has instead. No tagging action is granted, so the role cannot
make a prod resource look like a dev one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.aws.identity import trust_policy
from zenprovision.blocks.labels import StackLabels

DEV_TAG = {"StringEquals": {"aws:ResourceTag/zenprovision:env": "dev"}}
TAGGED_DELETES = [
    "ec2:DeleteFlowLogs", "ec2:DeleteInternetGateway", "ec2:DeleteLaunchTemplate", "ec2:DeleteNatGateway",
    "ec2:DeleteRouteTable", "ec2:DeleteSubnet", "ec2:DeleteVpc", "ec2:DetachInternetGateway",
    "ec2:DisassociateRouteTable", "ec2:ReleaseAddress",
    "ecr:BatchDeleteImage", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository", "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource",
    "eks:DeleteAccessEntry", "eks:DeleteAddon", "eks:DeleteCluster", "eks:DeleteNodegroup", "eks:DescribeAccessEntry",
    "eks:DescribeAddon", "eks:DescribeCluster", "eks:DescribeNodegroup", "eks:DisassociateAccessPolicy",
    "eks:ListAssociatedAccessPolicies",
    "iam:DeleteOpenIDConnectProvider", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
    "iam:GetOpenIDConnectProvider", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies",
    "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
    "kms:ScheduleKeyDeletion",
    "logs:DeleteLogGroup", "logs:ListTagsForResource",
]
# Describe calls take no resource-level conditions on AWS: they read, never change.
UNSCOPED_READS = [
    "ec2:DescribeAddresses", "ec2:DescribeFlowLogs", "ec2:DescribeInternetGateways", "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeNatGateways", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcs", "logs:DescribeLogGroups",
]
# Deleting a bucket's sub-configurations is a Put on S3 (DeleteBucketEncryption needs
# s3:PutEncryptionConfiguration, and so on); force_destroy empties it first.
RECIPE_BUCKET_ACTIONS = [
    "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetBucketLocation",
    "s3:GetBucketPolicy", "s3:GetBucketVersioning", "s3:ListBucket", "s3:ListBucketVersions",
    "s3:PutBucketPublicAccessBlock", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
]
RECIPE_BUCKETS = "zp-*"  # StackLabels.resource_name: every recipe bucket's name starts so


def home_statements(bucket: str, prefix: str) -> list[dict]:
    """List, read, write and delete under the home's prefix only (the pulumi backend included)."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    listing: dict = {"Sid": "HomeList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
    if prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}
    return [
        listing,
        {"Sid": "HomeLocation", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn},
        {"Sid": "HomeObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"{bucket_arn}/{prefix}/*" if prefix else f"{bucket_arn}/*"},
    ]


def teardown_policy(bucket: str, prefix: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        *home_statements(bucket, prefix),
        {"Sid": "DeleteDevStacks", "Effect": "Allow", "Action": TAGGED_DELETES, "Resource": "*", "Condition": DEV_TAG},
        {"Sid": "DescribeForDelete", "Effect": "Allow", "Action": UNSCOPED_READS, "Resource": "*"},
        {"Sid": "DeleteRecipeBuckets", "Effect": "Allow", "Action": RECIPE_BUCKET_ACTIONS,
         "Resource": [f"arn:aws:s3:::{RECIPE_BUCKETS}", f"arn:aws:s3:::{RECIPE_BUCKETS}/*"]},
    ]})


@dataclass
class TeardownRoleArgs:
    labels: StackLabels
    oidc_provider_arn: pulumi.Input[str]
    issuer_host: pulumi.Input[str]
    namespace: str
    service_account: str
    home_bucket: str
    home_prefix: str


class TeardownRole(pulumi.ComponentResource):
    role: aws.iam.Role

    def __init__(self, name: str, args: TeardownRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:TeardownRole", name, None, opts)
        trust = pulumi.Output.all(args.oidc_provider_arn, args.issuer_host).apply(
            lambda v: trust_policy(v[0], v[1], args.namespace, args.service_account))
        # a predictable name (zp-<stack>-teardown): dev stacks list its ARN in admin_principal_arns
        self.role = aws.iam.Role(f"{name}-role", name=args.labels.resource_name("teardown", limit=64),
                                 assume_role_policy=trust, tags=args.labels.aws_tags(),
                                 opts=pulumi.ResourceOptions(parent=self))
        self.policy = aws.iam.RolePolicy(f"{name}-access", role=self.role.id,
                                         policy=teardown_policy(args.home_bucket, args.home_prefix),
                                         opts=pulumi.ResourceOptions(parent=self.role))
        self.register_outputs({"role_arn": self.role.arn})
