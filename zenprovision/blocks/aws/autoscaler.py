"""The Kubernetes cluster autoscaler on EKS: without it a node group never grows past its
desired size, whatever its max. An IRSA role that may only resize this cluster's node
groups, and the upstream Helm chart discovering them by the tags EKS puts on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from zenprovision.blocks.aws.identity import trust_policy
from zenprovision.blocks.labels import StackLabels

CHART_VERSION = "9.59.0"  # kubernetes/autoscaler chart; the app image follows the cluster's minor version
NAMESPACE, SERVICE_ACCOUNT = "kube-system", "cluster-autoscaler"
READ_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags",
    "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup",
]


def autoscaler_policy(cluster_name: str) -> str:
    """Resize and terminate only in groups tagged as owned by this cluster; read the rest."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Resource": "*",
         "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}},
        {"Effect": "Allow", "Action": READ_ACTIONS, "Resource": "*"},
    ]})


@dataclass
class ClusterAutoscalerArgs:
    labels: StackLabels
    region: str
    kubernetes_version: str
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    issuer_host: pulumi.Input[str]


class ClusterAutoscaler(pulumi.ComponentResource):
    """Needs both an ``aws`` and a ``kubernetes`` provider in ``opts.providers``."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", tags=args.labels.aws_tags(), opts=child,
                            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.issuer_host).apply(
                                lambda v: trust_policy(v[0], v[1], NAMESPACE, SERVICE_ACCOUNT)))
        policy = aws.iam.RolePolicy(f"{name}-access", role=role.id, opts=pulumi.ResourceOptions(parent=role),
                                    policy=pulumi.Output.from_input(args.cluster_name).apply(autoscaler_policy))
        self.release = k8s.helm.v3.Release(
            f"{name}-chart", chart="cluster-autoscaler", version=CHART_VERSION, namespace=NAMESPACE,
            repository_opts={"repo": "https://kubernetes.github.io/autoscaler"},
            values={"autoDiscovery": {"clusterName": args.cluster_name}, "awsRegion": args.region,
                    "image": {"tag": f"v{args.kubernetes_version}.0"},
                    "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-system-pods": False},
                    "rbac": {"serviceAccount": {"name": SERVICE_ACCOUNT,
                                                "annotations": {"eks.amazonaws.com/role-arn": role.arn}}}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        self.register_outputs({"role_arn": role.arn})
