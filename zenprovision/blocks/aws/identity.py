"""IRSA: an IAM role that only the pipeline namespace's service account can assume, allowed
to use only this stack's bucket and pull from its registry. No access keys exist anywhere.

Steps pull images; pushing is for the people and CI that build them (docs/images).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.labels import StackLabels

ECR_PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


@dataclass
class IrsaRoleArgs:
    labels: StackLabels
    oidc_provider_arn: pulumi.Input[str]
    issuer_host: pulumi.Input[str]
    namespace: str
    service_account: str
    bucket_arn: pulumi.Input[str]
    repository_arn: pulumi.Input[str] | None = None  # None: a stack without a registry


def trust_policy(provider_arn: str, issuer_host: str, namespace: str, service_account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{issuer_host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            f"{issuer_host}:aud": "sts.amazonaws.com",
        }},
    }]})


def access_policy(bucket_arn: str, repository_arn: str | None) -> str:
    statements = [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": f"{bucket_arn}/*"},
    ]
    if repository_arn:
        statements += [
            {"Effect": "Allow", "Action": ECR_PULL, "Resource": repository_arn},
            # GetAuthorizationToken cannot be scoped to a repository: AWS only accepts "*".
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class IrsaRole(pulumi.ComponentResource):
    role: aws.iam.Role

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:IrsaRole", name, None, opts)
        trust = pulumi.Output.all(args.oidc_provider_arn, args.issuer_host).apply(
            lambda v: trust_policy(v[0], v[1], args.namespace, args.service_account))
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, tags=args.labels.aws_tags(),
                                 opts=pulumi.ResourceOptions(parent=self))
        aws.iam.RolePolicy(
            f"{name}-access", role=self.role.id,
            policy=pulumi.Output.all(args.bucket_arn, args.repository_arn).apply(lambda v: access_policy(v[0], v[1])),
            opts=pulumi.ResourceOptions(parent=self.role),
        )
        self.register_outputs({"role_arn": self.role.arn})
