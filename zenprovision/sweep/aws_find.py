"""List every AWS resource tagged ``zenprovision:stack``, whatever its stack.

Two sources, because neither is complete: the Resource Groups Tagging API covers most
services in one call per region, but misses IAM roles (on AWS too) and, on moto, ECR
repositories and EKS clusters and node groups. The kinds the sweep can delete are
therefore listed per service with their tags; for those kinds the per-service listing is
authoritative (it knows a bucket's real region, and the tagging API can still report a
resource for a while after its deletion). Results are deduplicated by ARN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from zenprovision.sweep.aws_session import AwsTarget, aws_errors, describe_error, error_code
from zenprovision.sweep.model import GLOBAL_REGION, TAG_STACK, FoundResource, kind_of, tag_dict

LISTED_KINDS = frozenset({"s3:bucket", "ecr:repository", "iam:role", "eks:cluster", "eks:nodegroup"})
_GONE = {"NoSuchBucket", "RepositoryNotFoundException", "NoSuchEntity", "ResourceNotFoundException"}


@dataclass
class Findings:
    """Tagged resources, plus resources whose tags could not be read (never guessed)."""

    resources: list[FoundResource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def read(self, what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``call(...)``, or None if the resource vanished meanwhile or refused (a warning)."""
        from botocore.exceptions import ClientError

        try:
            return call(*args, **kwargs)
        except ClientError as exc:
            if error_code(exc) not in _GONE:
                self.warnings.append(f"could not read {what}: {describe_error(exc)}")
            return None

    def add(self, kind: str, arn: str, region: str, name: str, tags: dict[str, str] | None) -> None:
        if tags and TAG_STACK in tags:
            self.resources.append(FoundResource(stack=tags[TAG_STACK], type=kind, arn=arn, region=region,
                                                name=name, tags=tags))


def find_tagged(target: AwsTarget) -> Findings:
    """Everything tagged with the stack key in the target's regions (and IAM, which is global)."""
    listed, tagging = Findings(), Findings()
    _iam_roles(target, listed)
    _s3_buckets(target, listed)
    for region in target.regions:
        _ecr_repositories(target, region, listed)
        _eks(target, region, listed)
        _tagging_api(target, region, tagging)
    extra = [r for r in tagging.resources if r.type not in LISTED_KINDS]
    return Findings(resources=dedupe([*listed.resources, *extra]),
                    warnings=listed.warnings + tagging.warnings)


def dedupe(resources: Iterable[FoundResource]) -> list[FoundResource]:
    """One entry per ARN; the first (the per-service listing) wins."""
    by_arn: dict[str, FoundResource] = {}
    for resource in resources:
        by_arn.setdefault(resource.arn, resource)
    return list(by_arn.values())


def _tagging_api(target: AwsTarget, region: str, found: Findings) -> None:
    api = target.client("resourcegroupstaggingapi", region)
    with aws_errors(f"asking the Resource Groups Tagging API in {region}", target):
        for page in api.get_paginator("get_resources").paginate(TagFilters=[{"Key": TAG_STACK}]):
            for mapping in page.get("ResourceTagMappingList", []):
                arn = mapping["ResourceARN"]
                kind, name = kind_of(arn)
                arn_region = arn.split(":")[3] if arn.count(":") >= 5 else ""
                found.add(kind, arn, arn_region or region, name, tag_dict(mapping.get("Tags")))


def _s3_buckets(target: AwsTarget, found: Findings) -> None:
    """All buckets of the account (one global list), kept if they live in a swept region."""
    s3 = target.client("s3")
    with aws_errors("listing S3 buckets", target):
        for page in s3.get_paginator("list_buckets").paginate():
            for bucket in page.get("Buckets", []):
                name = bucket["Name"]
                region = bucket.get("BucketRegion") or _bucket_region(found, s3, name)
                if region not in target.regions:
                    continue
                regional = target.client("s3", region)
                tags = found.read(f"the tags of S3 bucket {name}", _bucket_tags, regional, name)
                partition = target.session.get_partition_for_region(region)
                found.add("s3:bucket", f"arn:{partition}:s3:::{name}", region, name, tags)


def _bucket_region(found: Findings, s3: Any, name: str) -> str | None:
    response = found.read(f"the region of S3 bucket {name}", s3.get_bucket_location, Bucket=name)
    if response is None:
        return None
    location = response.get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


def _bucket_tags(s3: Any, name: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        return tag_dict(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
    except ClientError as exc:
        if error_code(exc) == "NoSuchTagSet":  # S3's way of saying "no tags"
            return {}
        raise


def _ecr_repositories(target: AwsTarget, region: str, found: Findings) -> None:
    ecr = target.client("ecr", region)
    with aws_errors(f"listing ECR repositories in {region}", target):
        for page in ecr.get_paginator("describe_repositories").paginate():
            for repo in page.get("repositories", []):
                arn = repo["repositoryArn"]
                response = found.read(f"the tags of ECR repository {arn}", ecr.list_tags_for_resource,
                                      resourceArn=arn)
                tags = tag_dict((response or {}).get("tags"))
                found.add("ecr:repository", arn, region, repo["repositoryName"], tags)


def _iam_roles(target: AwsTarget, found: Findings) -> None:
    """IAM is global: listed once. ``list_roles`` returns no tags, so each role is asked."""
    iam = target.client("iam")
    with aws_errors("listing IAM roles", target):
        for page in iam.get_paginator("list_roles").paginate():
            for role in page.get("Roles", []):
                name = role["RoleName"]
                tags = found.read(f"the tags of IAM role {name}", _role_tags, iam, name)
                found.add("iam:role", role["Arn"], GLOBAL_REGION, name, tags)


def _role_tags(iam: Any, name: str) -> dict[str, str]:
    pages = iam.get_paginator("list_role_tags").paginate(RoleName=name)
    return tag_dict([tag for page in pages for tag in page.get("Tags", [])])


def _eks(target: AwsTarget, region: str, found: Findings) -> None:
    eks = target.client("eks", region)
    with aws_errors(f"listing EKS clusters in {region}", target):
        for page in eks.get_paginator("list_clusters").paginate():
            for name in page.get("clusters", []):
                response = found.read(f"EKS cluster {name}", eks.describe_cluster, name=name)
                if response is None:
                    continue
                cluster = response["cluster"]
                found.add("eks:cluster", cluster["arn"], region, name, cluster.get("tags"))
                groups = found.read(f"the node groups of EKS cluster {name}", _nodegroup_names, eks, name)
                for group in groups or []:
                    _eks_nodegroup(eks, region, name, group, found)


def _nodegroup_names(eks: Any, cluster: str) -> list[str]:
    pages = eks.get_paginator("list_nodegroups").paginate(clusterName=cluster)
    return [group for page in pages for group in page.get("nodegroups", [])]


def _eks_nodegroup(eks: Any, region: str, cluster: str, group: str, found: Findings) -> None:
    """A node group is judged by its own tags, whatever its cluster carries."""
    what = f"EKS node group {cluster}/{group}"
    response = found.read(what, eks.describe_nodegroup, clusterName=cluster, nodegroupName=group)
    if response is not None:
        nodegroup = response["nodegroup"]
        name = f"{cluster}/{group}"
        found.add("eks:nodegroup", nodegroup["nodegroupArn"], region, name, nodegroup.get("tags"))
