"""Pulumi mocks that answer like a cloud would: ids, ARNs, URLs, e-mails, OIDC issuers.

Recipes read such outputs (a bucket's ARN into an IAM policy, a cluster's OIDC issuer into
a trust policy); realistic values let those code paths run under mocks.
"""

from __future__ import annotations

from typing import Any

import pulumi

ACCOUNT = "123456789012"


def _aws_service(type_: str) -> str:
    return type_.split(":")[1].split("/")[0]


def predicted_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the provider would return for a new resource, as far as recipes need it."""
    outs = dict(inputs)
    region = inputs.get("region") or "us-east-1"
    if type_.startswith("aws:"):
        outs.setdefault("arn", f"arn:aws:{_aws_service(type_)}:{region}:{ACCOUNT}:{name}")
    if type_ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}20261127"
        outs.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
    elif type_ == "aws:ecr/repository:Repository":
        repo = inputs.get("name", name)
        outs.update(repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}",
                    arn=f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repo}")
    elif type_ == "aws:eks/cluster:Cluster":
        outs.update(endpoint="https://EXAMPLE.gr7.us-east-1.eks.amazonaws.com", certificateAuthority={"data": "Q0E="},
                    identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/EXAMPLE"}]}])
    elif type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        outs["arn"] = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}"
    elif type_ == "aws:iam/role:Role":
        outs.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{name}", name=name)
    elif type_ == "gcp:serviceaccount/account:Account":
        email = f"{inputs.get('accountId', name)}@{inputs.get('project', 'project')}.iam.gserviceaccount.com"
        outs.update(email=email, name=f"projects/{inputs.get('project', 'project')}/serviceAccounts/{email}")
    elif type_ == "gcp:container/cluster:Cluster":
        outs.update(endpoint="34.1.2.3", masterAuth={"clusterCaCertificate": "Q0E="})
    elif type_ == "gcp:storage/bucket:Bucket":
        outs.setdefault("name", name)
    return outs


class CloudMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.provider_regions: dict[str, str] = {}  # provider id -> its region, for invokes

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ.startswith("pulumi:providers:") and args.inputs.get("region"):
            self.provider_regions[f"{args.name}-id"] = str(args.inputs["region"])
        return f"{args.name}-id", predicted_outputs(args.typ, args.name, args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        """Data sources recipes read: a region's available zones (AWS lists them a to d), a project's number."""
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            region = self.provider_regions.get(str(args.provider).rpartition("::")[2], "us-east-1")
            names = [f"{region}{letter}" for letter in "dcba"]
            return {"id": region, "names": names, "zoneIds": [f"use1-az{i}" for i in range(4)], "state": "available"}
        if args.token == "gcp:organizations/getProject:getProject":
            return {"projectId": args.args.get("projectId", "project"), "number": "123456789012"}
        return {}
