"""Kubernetes building blocks: the pipeline namespace and service account, and KServe."""

from __future__ import annotations

import re
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
    kserve_version: str = "v0.20.0"
    cert_manager_version: str = "v1.21.1"
    ingress_class: str = ""  # empty: InferenceServices are reachable inside the cluster only


def _minor(version: str) -> tuple[int, int]:
    """``v0.20.0`` -> (0, 20); something unparsable counts as the newest."""
    parts = re.findall(r"\d+", version)[:2]
    return (int(parts[0]), int(parts[1])) if len(parts) == 2 else (99, 0)


def kserve_chart(version: str) -> str:
    """KServe's controller chart: ``kserve`` until v0.16, ``kserve-resources`` from v0.17 on."""
    return "oci://ghcr.io/kserve/charts/" + ("kserve-resources" if _minor(version) >= (0, 17) else "kserve")


def kserve_values(args: KServeArgs) -> dict:
    """Standard (raw) deployment mode, no Knative; an Ingress per InferenceService only with a class."""
    gateway: dict = {"disableIngressCreation": not args.ingress_class}
    if args.ingress_class:
        gateway["ingressGateway"] = {"className": args.ingress_class}
    mode = "Standard" if _minor(args.kserve_version) >= (0, 15) else "RawDeployment"  # renamed in v0.15
    return {"kserve": {"controller": {"deploymentMode": mode, "gateway": gateway}}}


class KServeInstall(pulumi.ComponentResource):
    """cert-manager, then KServe's CRDs and controller in standard (raw) deployment mode."""

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
            f"{name}-controller", chart=kserve_chart(args.kserve_version), version=args.kserve_version,
            namespace="kserve", create_namespace=True, values=kserve_values(args),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[crds])))
        self.register_outputs({})
