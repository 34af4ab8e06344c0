"""AWS policies: S3 buckets private, encrypted and TLS-only; EKS endpoint, logs, node metadata, IAM order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from zenprovision.policy.base import Policy
from zenprovision.policy.model import Resource, Settings, Stack, dig, is_unknown

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
EKS_CLUSTER, NODE_GROUP = "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ROLE, ATTACHMENT = "aws:iam/role:Role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_DOCUMENTS = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
DESTRUCTIVE_VERBS = ("Delete", "Terminate", "ScheduleKeyDeletion", "Release", "Detach", "Disassociate")
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator")
WORLD = ("0.0.0.0/0", "::/0")


def _attached(stack: Stack, type_: str, bucket: Resource) -> list[Resource]:
    return stack.attached(type_, bucket, "bucket", (bucket.props.get("bucket"), bucket.props.get("id")))


def buckets_private(stack: Stack, settings: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(BUCKET):
        acl = bucket.props.get("acl")
        if isinstance(acl, str) and acl.startswith("public"):
            yield bucket, f"acl {acl!r} is public"
        blocks = _attached(stack, PUBLIC_ACCESS_BLOCK, bucket)
        if not any(all(b.props.get(f) is True for f in BLOCK_FLAGS) for b in blocks):
            yield bucket, "no public access block with all four flags on"


def buckets_encrypted(stack: Stack, settings: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(BUCKET):
        if not _attached(stack, ENCRYPTION, bucket) and not bucket.props.get("serverSideEncryptionConfiguration"):
            yield bucket, "no server-side encryption configuration"


def _statements(document: Any) -> list[dict]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return [s for s in (found if isinstance(found, list) else [found]) if isinstance(s, dict)]


def _denies_plain_http(statement: dict) -> bool:
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport") if isinstance(condition, dict) else None
    return statement.get("Effect") == "Deny" and str(secure).lower() == "false"


def buckets_tls_only(stack: Stack, settings: Settings) -> Iterator[tuple[Resource, str]]:
    for bucket in stack.of_type(BUCKET):
        policies = [p.props.get("policy") for p in _attached(stack, BUCKET_POLICY, bucket)]
        if any(is_unknown(p) for p in policies):
            continue
        if not any(_denies_plain_http(s) for p in policies for s in _statements(p)):
            yield bucket, "no bucket policy denies requests without TLS (aws:SecureTransport false)"


def eks_endpoint_not_public(resource: Resource, settings: Settings) -> Iterator[str]:
    config = resource.props.get("vpcConfig") or {}
    if is_unknown(config):
        return
    public = config.get("endpointPublicAccess") if isinstance(config, dict) else None
    if public is False or is_unknown(public):
        return
    cidrs = config.get("publicAccessCidrs") if isinstance(config, dict) else None
    if is_unknown(cidrs):
        return
    if not cidrs or any(c in WORLD for c in cidrs):
        yield "the API endpoint is public to 0.0.0.0/0: set public_access_cidrs or turn public access off"


def prod_control_plane_logs(resource: Resource, settings: Settings) -> Iterator[str]:
    if settings.env_of(resource) != "prod":
        return
    if resource.type == EKS_CLUSTER:
        enabled = resource.props.get("enabledClusterLogTypes") or []
        missing = [t for t in CONTROL_PLANE_LOGS if not is_unknown(enabled) and t not in enabled]
        if missing:
            yield f"env prod without control-plane logs {', '.join(missing)} (enabled_cluster_log_types)"
    else:
        yield from _gke_logs(resource)


def _gke_logs(resource: Resource) -> Iterator[str]:
    if resource.props.get("loggingService") == "none":
        yield "env prod with logging_service none"
        return
    components = dig(resource.props, "loggingConfig", "enableComponents")
    if not is_unknown(components) and "APISERVER" not in (components or []):
        yield "env prod without control-plane logs: logging_config.enable_components lacks APISERVER"


def _launch_template(stack: Stack, group: Resource) -> Resource | None:
    ref = group.props.get("launchTemplate") or {}
    names = (ref.get("id"), ref.get("name")) if isinstance(ref, dict) else ()
    wanted = {n for n in names if isinstance(n, str) and n}
    for template in stack.of_type(LAUNCH_TEMPLATE):
        if template.urn in group.dependencies and ref:
            return template
        if wanted & {template.props.get("name"), template.props.get("id")}:
            return template
    return None


def node_metadata_hop_limit(stack: Stack, settings: Settings) -> Iterator[tuple[Resource, str]]:
    for group in stack.of_type(NODE_GROUP):
        template = _launch_template(stack, group)
        if template is None:
            yield group, "no launch template: the metadata hop limit stays 2, so pods can take the node role"
            continue
        options = template.props.get("metadataOptions") or {}
        hops, tokens = options.get("httpPutResponseHopLimit"), options.get("httpTokens")
        if not is_unknown(hops) and hops != 1:
            yield template, f"http_put_response_hop_limit is {hops}, must be 1 so pods cannot reach node credentials"
        if not is_unknown(tokens) and tokens != "required":
            yield template, "http_tokens must be 'required' (IMDSv2 only)"


def _role_of(stack: Stack, user: Resource) -> Resource | None:
    arn = user.props.get("roleArn") or user.props.get("nodeRoleArn")
    for role in stack.of_type(ROLE):
        if role.urn in user.dependencies or (arn and arn in (role.props.get("arn"), role.props.get("name"))):
            return role
    return None


def role_attachments_first(stack: Stack, settings: Settings) -> Iterator[tuple[Resource, str]]:
    for user in stack.of_type(EKS_CLUSTER, NODE_GROUP):
        role = _role_of(stack, user)
        if role is None:
            continue
        waits_for = stack.depends_on(user)
        missing = [a.name for a in stack.of_type(ATTACHMENT)
                   if (role.urn in a.dependencies or a.parent == role.urn) and a.urn not in waits_for]
        if missing:
            yield user, (f"uses role {role.name} before its policy attachments exist: add depends_on for "
                         f"{', '.join(sorted(missing))}")


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _destructive(action: Any) -> bool:
    service, _, verb = str(action).partition(":")
    return action == "*" or verb == "*" or verb.startswith(DESTRUCTIVE_VERBS)


def iam_deletes_scoped(resource: Resource, settings: Settings) -> Iterator[str]:
    """A delete allowed on every resource must carry a condition (a tag, most often)."""
    document = resource.props.get("policy")
    if is_unknown(document):
        return
    for statement in _statements(document):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if "*" not in _listed(statement.get("Resource")):
            continue
        wide = sorted(str(a) for a in _listed(statement.get("Action")) if _destructive(a))
        if wide:
            yield (f"allows {', '.join(wide)} on every resource without a condition: name the resources or add "
                   "an aws:ResourceTag condition (e.g. zenprovision:env dev)")


POLICIES = [
    Policy("s3-bucket-private", "S3 buckets: no public ACL, a public access block with all four flags on.",
           "Artifact buckets hold models and data; one public flag publishes them.", "stack", buckets_private),
    Policy("s3-bucket-encrypted", "S3 buckets have a server-side encryption configuration.",
           "Encryption at rest is the baseline every audit asks for.", "stack", buckets_encrypted),
    Policy("s3-bucket-tls-only", "S3 buckets have a bucket policy denying requests where aws:SecureTransport "
           "is false.", "Without it, clients may read and write artifacts over plain HTTP.", "stack",
           buckets_tls_only),
    Policy("eks-endpoint-not-public", "The EKS API endpoint is private, or public only to listed CIDRs "
           "(never 0.0.0.0/0).", "A world-reachable API server is one credential leak away from takeover.",
           "resource", eks_endpoint_not_public, types=(EKS_CLUSTER,)),
    Policy("eks-node-metadata-hop-limit", "EKS node groups use a launch template with IMDSv2 required and "
           "http_put_response_hop_limit 1.", "With hop limit 2 any pod can read the node role's credentials "
           "from the instance metadata service.", "stack", node_metadata_hop_limit),
    Policy("iam-role-attachments-first", "An EKS cluster or node group depends on every policy attachment "
           "of its IAM role.", "Otherwise Pulumi may create the cluster before its role has permissions, and "
           "delete the permissions before the cluster on destroy.", "stack", role_attachments_first),
    Policy("prod-control-plane-logs", "In env prod, EKS has api, audit and authenticator logs on; GKE sends "
           "APISERVER logs.", "Production clusters need an audit trail of who did what to the API.",
           "resource", prod_control_plane_logs, types=(EKS_CLUSTER, "gcp:container/cluster:Cluster"),
           config=("env",)),
    Policy("iam-deletes-scoped", "An IAM policy that allows a delete (Delete*, Terminate*, Detach*, ...) on "
           "Resource \"*\" carries a condition.", "An unconditioned delete on * lets the role destroy any resource "
           "of the account, prod included: scope it to named resources or by tag (aws:ResourceTag).", "resource",
           iam_deletes_scoped, types=IAM_DOCUMENTS),
]
