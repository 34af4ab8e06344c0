"""Kubernetes building blocks: the pipeline namespace and service account, and KServe."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from zenprovision.blocks.labels import StackLabels


@dataclass
class PipelineNamespaceArgs:
    labels: StackLabels
    namespace: str
    service_account: str
    annotations: dict = field(default_factory=dict)  # IRSA / Workload Identity binding


class PipelineNamespace(pulumi.ComponentResource):
    """Where pipeline steps run, as a service account bound to a cloud identity."""

    def __init__(self, name: str, args: PipelineNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:k8s:PipelineNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)  # the kubernetes provider comes from the parent
        labels = args.labels.k8s_labels()
        namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": args.namespace, "labels": labels},
                                          opts=child)
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={"name": args.service_account, "namespace": namespace.metadata["name"], "labels": labels,
                      "annotations": args.annotations},
            automount_service_account_token=True,
            opts=child,
        )
        # deploy_model runs inside a step's pod: it manages InferenceServices of this namespace.
        role = k8s.rbac.v1.Role(
            f"{name}-deployer",
            metadata={"name": f"{args.service_account}-deployer", "namespace": namespace.metadata["name"],
                      "labels": labels},
            rules=[{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch"]}],
            opts=child,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-deployer",
            metadata={"name": f"{args.service_account}-deployer", "namespace": namespace.metadata["name"],
                      "labels": labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata["name"]},
            subjects=[{"kind": "ServiceAccount", "name": args.service_account, "namespace": args.namespace}],
            opts=child,
        )
        self.namespace = namespace.metadata["name"]
        self.register_outputs({"namespace": self.namespace})


@dataclass
class KServeArgs:
    kserve_version: str = "v0.14.1"
    cert_manager_version: str = "v1.16.2"


class KServeInstall(pulumi.ComponentResource):
    """cert-manager, then KServe's CRDs and controller in raw deployment mode (no Knative)."""

    def __init__(self, name: str, args: KServeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:k8s:KServe", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)  # the kubernetes provider comes from the parent
        cert_manager = k8s.helm.v3.Release(
            f"{name}-cert-manager", chart="cert-manager", version=args.cert_manager_version,
            namespace="cert-manager", create_namespace=True,
            repository_opts={"repo": "https://charts.jetstack.io"},
            values={"crds": {"enabled": True}}, opts=child)
        crds = k8s.helm.v3.Release(
            f"{name}-crds", chart="oci://ghcr.io/kserve/charts/kserve-crd", version=args.kserve_version,
            namespace="kserve", create_namespace=True,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[cert_manager])))
        self.controller = k8s.helm.v3.Release(
            f"{name}-controller", chart="oci://ghcr.io/kserve/charts/kserve", version=args.kserve_version,
            namespace="kserve", create_namespace=True,
            values={"kserve": {"controller": {"deploymentMode": "RawDeployment"}}},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[crds])))
        self.register_outputs({})
