"""Delete orphan candidates, and only them, in an order AWS accepts.

Node groups go before their clusters (a cluster with node groups cannot be deleted),
clusters before the IAM roles they run as; buckets are emptied of every object version
and delete marker first. A failure is recorded with AWS's reason and the sweep goes on
with the rest: one stuck resource must not keep the others running up costs.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import Any

from zenprovision.sweep.aws_session import AwsTarget, describe_error, error_code
from zenprovision.sweep.candidates import is_orphan
from zenprovision.sweep.model import Candidates, DeleteReport, FoundResource, LeftResource

# Bounded waits: AWS takes minutes to delete a node group or a cluster; moto is instant.
WAIT = {"Delay": 15, "MaxAttempts": 80}
_GONE = {"NoSuchBucket", "RepositoryNotFoundException", "NoSuchEntity", "ResourceNotFoundException"}
Progress = Callable[[str], None]


class DeletionIncomplete(Exception):
    """A deletion call succeeded but left part of the resource behind (locked objects)."""


def delete_all(target: AwsTarget, candidates: Candidates, registered_now: Set[str],
               progress: Progress = lambda _: None) -> DeleteReport:
    """Delete the candidates the sweep knows how to; report every other one as left.

    ``registered_now`` is the registry read again after confirmation: a stack registered
    since the listing is spared.
    """
    report = DeleteReport()
    todo: list[FoundResource] = []
    for resource in candidates.orphans:
        if not is_orphan(resource, candidates.registered | registered_now):
            reason = f"stack {resource.stack!r} is registered now"
            report.left.append(LeftResource(resource, reason, attempted=False))
        elif resource.type not in DELETERS:
            reason = f"the sweep cannot delete {resource.type} resources"
            report.left.append(LeftResource(resource, reason, attempted=False))
        else:
            todo.append(resource)
    _delete_node_groups(target, [r for r in todo if r.type == "eks:nodegroup"], report, progress)
    stuck = {_cluster_of(r.resource) for r in report.failed if r.resource.type == "eks:nodegroup"}
    for kind in ORDER[1:]:
        for resource in (r for r in todo if r.type == kind):
            if kind == "eks:cluster" and (resource.region, resource.name) in stuck:
                _record(report, resource, "a node group of this cluster was not deleted")
                continue
            progress(f"deleting {resource.type} {resource.name}")
            _record(report, resource, _attempt(DELETERS[kind], target, resource))
    return report


def _delete_node_groups(target: AwsTarget, groups: list[FoundResource], report: DeleteReport,
                        progress: Progress) -> None:
    """Request every deletion first, then wait for each: AWS deletes them in parallel."""
    requested = []
    for group in groups:
        progress(f"deleting eks:nodegroup {group.name}")
        reason = _attempt(_request_nodegroup_deletion, target, group)
        if reason is None:
            requested.append(group)
        else:
            _record(report, group, reason)
    for group in requested:
        _record(report, group, _attempt(_wait_nodegroup_deleted, target, group))


def _attempt(action: Callable[[AwsTarget, FoundResource], None], target: AwsTarget,
             resource: FoundResource) -> str | None:
    """None if the action succeeded or the resource was already gone, else the reason."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        action(target, resource)
    except ClientError as exc:
        return None if error_code(exc) in _GONE else describe_error(exc)
    except (BotoCoreError, DeletionIncomplete) as exc:
        return describe_error(exc)
    return None


def _record(report: DeleteReport, resource: FoundResource, reason: str | None) -> None:
    if reason is None:
        report.deleted.append(resource)
    else:
        report.left.append(LeftResource(resource, reason, attempted=True))


def _cluster_of(nodegroup: FoundResource) -> tuple[str, str]:
    return nodegroup.region, nodegroup.name.split("/", 1)[0]


def _split_nodegroup(resource: FoundResource) -> dict[str, str]:
    cluster, group = resource.name.split("/", 1)
    return {"clusterName": cluster, "nodegroupName": group}


def _request_nodegroup_deletion(target: AwsTarget, resource: FoundResource) -> None:
    target.client("eks", resource.region).delete_nodegroup(**_split_nodegroup(resource))


def _wait_nodegroup_deleted(target: AwsTarget, resource: FoundResource) -> None:
    waiter = target.client("eks", resource.region).get_waiter("nodegroup_deleted")
    waiter.wait(**_split_nodegroup(resource), WaiterConfig=WAIT)


def _delete_cluster(target: AwsTarget, resource: FoundResource) -> None:
    """Waits too, so that the cluster's IAM role is not deleted under a deleting cluster."""
    eks = target.client("eks", resource.region)
    eks.delete_cluster(name=resource.name)
    eks.get_waiter("cluster_deleted").wait(name=resource.name, WaiterConfig=WAIT)


def _delete_bucket(target: AwsTarget, resource: FoundResource) -> None:
    s3 = target.client("s3", resource.region)
    _empty_bucket(s3, resource.name)
    s3.delete_bucket(Bucket=resource.name)


def _empty_bucket(s3: Any, bucket: str) -> None:
    """Delete every object version and delete marker (an unversioned object has version "null")."""
    errors: list[dict[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        keys = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
        for start in range(0, len(keys), 1000):  # delete_objects takes at most 1000 keys
            batch = {"Objects": keys[start:start + 1000], "Quiet": True}
            errors += s3.delete_objects(Bucket=bucket, Delete=batch).get("Errors", [])
    if errors:
        first = errors[0]
        raise DeletionIncomplete(f"{len(errors)} object version(s) could not be deleted, e.g. "
                                 f"{first.get('Key')}: {first.get('Code')}: {first.get('Message')}")


def _delete_repository(target: AwsTarget, resource: FoundResource) -> None:
    account = resource.arn.split(":")[4]
    target.client("ecr", resource.region).delete_repository(repositoryName=resource.name, registryId=account,
                                                             force=True)


def _delete_role(target: AwsTarget, resource: FoundResource) -> None:
    """Detach managed policies, delete inline ones, leave instance profiles, then delete."""
    iam, role = target.client("iam"), resource.name
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role):
        for policy in page.get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role):
        for policy_name in page.get("PolicyNames", []):
            iam.delete_role_policy(RoleName=role, PolicyName=policy_name)
    for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=role):
        for profile in page.get("InstanceProfiles", []):
            iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"],
                                                  RoleName=role)
    iam.delete_role(RoleName=role)


# The order of deletion, and how to delete each kind; node groups are handled apart.
DELETERS: dict[str, Callable[[AwsTarget, FoundResource], None]] = {
    "eks:nodegroup": _request_nodegroup_deletion,
    "eks:cluster": _delete_cluster,
    "s3:bucket": _delete_bucket,
    "ecr:repository": _delete_repository,
    "iam:role": _delete_role,
}
ORDER = tuple(DELETERS)
