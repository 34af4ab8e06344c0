"""GCP policies: GCS buckets private, GKE endpoint restricted, GKE nodes on their own service account."""

from __future__ import annotations

from collections.abc import Iterator

from zenprovision.policy.base import Policy
from zenprovision.policy.model import Resource, Settings, dig, is_unknown

BUCKET = "gcp:storage/bucket:Bucket"
CLUSTER, NODE_POOL = "gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"
WORLD = ("0.0.0.0/0", "::/0")
PROJECT_GRANTS = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding")
# Project-wide, these reach every bucket's data or let the holder grant itself anything.
SCOPE_NEEDED = ("roles/storage.", "roles/resourcemanager.projectIamAdmin", "roles/iam.securityAdmin")


def gcs_bucket_private(resource: Resource, settings: Settings) -> Iterator[str]:
    if resource.props.get("uniformBucketLevelAccess") is not True:
        yield "uniform bucket-level access is off"
    if resource.props.get("publicAccessPrevention") != "enforced":
        yield "public access prevention is not enforced"


def gke_endpoint_restricted(resource: Resource, settings: Settings) -> Iterator[str]:
    """A public endpoint needs master authorized networks; an empty list admits no one from
    outside (GKE: "omit cidr_blocks to disallow external access"), which is the closed default."""
    if dig(resource.props, "privateClusterConfig", "enablePrivateEndpoint") is True:
        return
    config = dig(resource.props, "masterAuthorizedNetworksConfig")
    if is_unknown(config):
        return
    if not isinstance(config, dict):
        yield "public endpoint without master authorized networks: anyone can reach the API server"
        return
    blocks = config.get("cidrBlocks") or []
    if is_unknown(blocks):
        return
    if any(dig(block, "cidrBlock") in WORLD for block in blocks):
        yield "master authorized networks include 0.0.0.0/0"
    if config.get("gcpPublicCidrsAccessEnabled") is True:
        yield "master authorized networks admit every Google Cloud public address"


def _default_account(account: object) -> bool:
    return not account or account == "default" or (
        isinstance(account, str) and account.endswith("-compute@developer.gserviceaccount.com"))


def gke_node_service_account(resource: Resource, settings: Settings) -> Iterator[str]:
    props = resource.props
    if resource.type == NODE_POOL:
        account = dig(props, "nodeConfig", "serviceAccount")
    elif props.get("enableAutopilot") is True:
        account = dig(props, "clusterAutoscaling", "autoProvisioningDefaults", "serviceAccount")
    elif props.get("removeDefaultNodePool") is True:
        return
    else:
        account = dig(props, "nodeConfig", "serviceAccount")
    if not is_unknown(account) and _default_account(account):
        yield "nodes run as the Compute Engine default service account (project Editor): give them their own"


def project_grants_scoped(resource: Resource, settings: Settings) -> Iterator[str]:
    role = resource.props.get("role")
    if not isinstance(role, str) or not role.startswith(SCOPE_NEEDED):
        return
    condition = resource.props.get("condition")
    if is_unknown(condition) or (isinstance(condition, dict) and condition.get("expression")):
        return
    where = "on the bucket (a bucket IAM member)" if role.startswith("roles/storage.") else "with a condition"
    yield f"{role} granted project-wide without a condition: grant it {where}"


POLICIES = [
    Policy("gcs-bucket-private", "GCS buckets: uniform bucket-level access on, public access prevention "
           "enforced.", "Without both, one ACL or IAM grant publishes the artifacts.", "resource",
           gcs_bucket_private, types=(BUCKET,)),
    Policy("gke-endpoint-restricted", "A GKE cluster's endpoint is private, or public only to master "
           "authorized networks (never 0.0.0.0/0).", "A world-reachable API server is one credential leak "
           "away from takeover.", "resource", gke_endpoint_restricted, types=(CLUSTER,)),
    Policy("gke-node-service-account", "GKE nodes (node pools, Autopilot, a kept default pool) run as a "
           "dedicated service account, not the Compute Engine default.", "The default account holds project "
           "Editor: any pod could change the whole project (CIS GKE 5.2.1).", "resource",
           gke_node_service_account, types=(CLUSTER, NODE_POOL)),
    Policy("gcp-project-grants-scoped", "Project-level grants of Cloud Storage roles, projectIamAdmin or "
           "iam.securityAdmin carry an IAM condition (storage roles belong on the bucket).",
           "Project-wide, a storage role reaches every bucket's data, and an IAM admin role can grant its holder "
           "anything.", "resource", project_grants_scoped, types=PROJECT_GRANTS),
]
