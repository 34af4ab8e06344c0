"""An EKS cluster with a managed node group in private subnets, and its IAM OIDC provider
(for IRSA) and kubeconfig."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.labels import StackLabels

# The root CA of the EKS OIDC endpoints (IAM ignores it for these issuers, the API wants one).
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")


def service_principal_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


@dataclass
class EksClusterArgs:
    labels: StackLabels
    region: str
    kubernetes_version: str
    subnet_ids: list  # every subnet the control plane may use
    node_subnet_ids: list  # private subnets only
    instance_types: list[str]
    min_size: int
    desired_size: int
    max_size: int


class EksCluster(pulumi.ComponentResource):
    cluster: aws.eks.Cluster
    oidc_provider: aws.iam.OpenIdConnectProvider
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.labels.aws_tags()
        cluster_role = self._role(f"{name}-cluster-role", "eks.amazonaws.com", ["AmazonEKSClusterPolicy"], tags)
        self.cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.labels.resource_name("eks", limit=100),
            role_arn=cluster_role.arn,
            version=args.kubernetes_version,
            vpc_config={"subnet_ids": args.subnet_ids, "endpoint_private_access": True, "endpoint_public_access": True},
            access_config={"authentication_mode": "API_AND_CONFIG_MAP",
                           "bootstrap_cluster_creator_admin_permissions": True},
            tags=tags,
            opts=child,
        )
        node_role = self._role(f"{name}-node-role", "ec2.amazonaws.com", list(NODE_POLICIES), tags)
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=args.node_subnet_ids,
            instance_types=args.instance_types,
            scaling_config={"min_size": args.min_size, "desired_size": args.desired_size, "max_size": args.max_size},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[node_role]),
        )
        issuer = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"] if ids else "")
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"],
            thumbprint_lists=[EKS_OIDC_THUMBPRINT], tags=tags, opts=child)
        self.issuer_host = issuer.apply(lambda url: url.removeprefix("https://"))
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority
        ).apply(lambda values: kubeconfig(values[0], values[1], (values[2] or {}).get("data", ""), args.region)))
        self.register_outputs({"cluster_name": self.cluster.name})

    def _role(self, name: str, service: str, managed: list[str], tags: dict) -> aws.iam.Role:
        role = aws.iam.Role(name, assume_role_policy=service_principal_policy(service), tags=tags,
                            opts=pulumi.ResourceOptions(parent=self))
        for policy in managed:
            aws.iam.RolePolicyAttachment(f"{name}-{policy}", role=role.name,
                                         policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                                         opts=pulumi.ResourceOptions(parent=role))
        return role


def kubeconfig(cluster: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that gets short-lived tokens from the AWS CLI: no static credentials."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": cluster,
        "clusters": [{"name": cluster, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "users": [{"name": cluster, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster, "--region", region]}}}],
    })
