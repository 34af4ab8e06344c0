"""Workload Identity: a Google service account that only the pipeline namespace's Kubernetes
service account can act as, allowed to use only this stack's bucket and to pull from its
repository (pushing is for the people and CI that build images: docs/images)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from zenprovision.blocks.labels import StackLabels


@dataclass
class WorkloadIdentityArgs:
    labels: StackLabels
    project: str
    location: str
    namespace: str
    service_account: str
    bucket: pulumi.Input[str]
    repository: pulumi.Input[str] | None = None  # None: a stack without a registry
    # The GKE cluster: the `<project>.svc.id.goog` pool exists only once it does, and GCP
    # refuses the workloadIdentityUser binding before.
    wait_for: list[pulumi.Resource] = field(default_factory=list)


class WorkloadIdentity(pulumi.ComponentResource):
    account: gcp.serviceaccount.Account

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:gcp:WorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = gcp.serviceaccount.Account(
            f"{name}-account", project=args.project, account_id=args.labels.resource_name("steps", limit=30),
            display_name=f"zenprovision pipeline steps of stack {args.labels.stack}", opts=child)
        member = pulumi.Output.concat("serviceAccount:", self.account.email)
        gcp.storage.BucketIAMMember(f"{name}-bucket-access", bucket=args.bucket, role="roles/storage.objectAdmin",
                                    member=member, opts=child)
        if args.repository is not None:
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-registry-access", project=args.project, location=args.location, repository=args.repository,
                role="roles/artifactregistry.reader", member=member, opts=child)
        bind_kubernetes_account(f"{name}-workload-identity", self.account, args.project, args.namespace,
                                args.service_account, pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for)))
        self.register_outputs({"email": self.account.email})


def bind_kubernetes_account(name: str, account: gcp.serviceaccount.Account, project: str, namespace: str,
                            service_account: str, opts: pulumi.ResourceOptions) -> gcp.serviceaccount.IAMMember:
    """Let exactly one Kubernetes service account act as ``account`` (Workload Identity)."""
    return gcp.serviceaccount.IAMMember(
        name, service_account_id=account.name, role="roles/iam.workloadIdentityUser",
        member=f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]", opts=opts)
