"""The Google service account of the teardown CronJob, bound by Workload Identity.

On the team's home bucket it is an object admin through a bucket IAM member (not a project
role), conditioned to the home's prefix. Destroying a dev stack needs project roles: GCP IAM
conditions cannot read resource *labels* (``zenprovision_env``), so these cannot be kept to
env dev the way AWS tag conditions are. They are narrowed where GCP allows it: buckets by the
``zp-`` name every recipe bucket has, project IAM changes to the node roles the recipes
grant; the rest hold in each project listed (keep dev stacks in a project of their own).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from zenprovision.blocks.gcp.cluster import NODE_ROLES
from zenprovision.blocks.gcp.identity import bind_kubernetes_account
from zenprovision.blocks.labels import StackLabels

# GKE clusters, node pools and the Kubernetes objects on them; VPC, subnets, router and NAT;
# firewall rules (no narrower predefined role deletes them); Artifact Registry repositories;
# the stacks' service accounts and their Workload Identity bindings.
PROJECT_ROLES = (
    "roles/container.admin", "roles/compute.networkAdmin", "roles/compute.securityAdmin",
    "roles/artifactregistry.admin", "roles/iam.serviceAccountAdmin",
)
RECIPE_BUCKETS = 'resource.name.startsWith("projects/_/buckets/zp-")'


def node_role_grants() -> str:
    """Project IAM changes only to the roles the recipes give GKE nodes (their removal on destroy)."""
    roles = ", ".join(f"'{role}'" for role in sorted(NODE_ROLES))
    return f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([{roles}])"


CONDITIONED_ROLES = {
    "roles/storage.admin": ("zenprovision recipe buckets", RECIPE_BUCKETS),
    "roles/resourcemanager.projectIamAdmin": ("only the recipes' node roles", node_role_grants()),
}


def home_condition(bucket: str, prefix: str) -> dict | None:
    """Objects under the prefix; listing is checked on the bucket itself, so that stays allowed."""
    if not prefix:
        return None
    return {"title": "zenprovision home prefix", "description": f"objects under gs://{bucket}/{prefix}/",
            "expression": f'resource.type == "storage.googleapis.com/Bucket" || '
                          f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}/")'}


@dataclass
class TeardownAccountArgs:
    labels: StackLabels
    project: str  # where the account lives, and the Workload Identity pool's project
    namespace: str
    service_account: str
    home_bucket: str
    home_prefix: str
    projects: list[str] = field(default_factory=list)  # whose dev stacks it may destroy
    wait_for: list[pulumi.Resource] = field(default_factory=list)  # the cluster: its identity pool


class TeardownAccount(pulumi.ComponentResource):
    account: gcp.serviceaccount.Account

    def __init__(self, name: str, args: TeardownAccountArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:gcp:TeardownAccount", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = gcp.serviceaccount.Account(
            f"{name}-account", project=args.project, account_id=args.labels.resource_name("teardown", limit=30),
            display_name=f"zenprovision teardown of expired dev stacks (stack {args.labels.stack})", opts=child)
        member = pulumi.Output.concat("serviceAccount:", self.account.email)
        gcp.storage.BucketIAMMember(f"{name}-home", bucket=args.home_bucket, role="roles/storage.objectAdmin",
                                    member=member, condition=home_condition(args.home_bucket, args.home_prefix),
                                    opts=child)
        for project in args.projects or [args.project]:
            self._project_roles(name, project, member)
        bind_kubernetes_account(f"{name}-workload-identity", self.account, args.project, args.namespace,
                                args.service_account, pulumi.ResourceOptions(parent=self, depends_on=args.wait_for))
        self.register_outputs({"email": self.account.email})

    def _project_roles(self, name: str, project: str, member: pulumi.Output[str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        for role in PROJECT_ROLES:
            gcp.projects.IAMMember(f"{name}-{project}-{role.split('/')[1]}", project=project, role=role,
                                   member=member, opts=child)
        for role, (title, expression) in CONDITIONED_ROLES.items():
            gcp.projects.IAMMember(f"{name}-{project}-{role.split('/')[1]}", project=project, role=role,
                                   member=member, condition={"title": title, "expression": expression}, opts=child)
