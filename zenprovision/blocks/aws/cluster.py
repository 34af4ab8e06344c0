"""An EKS cluster with a managed node group in private subnets, its managed add-ons, access
entries for admins, the IAM OIDC provider (for IRSA) and a kubeconfig.

Roles are created with their policy attachments before anything that uses them, so create
and destroy run in the right order. Nodes come from a launch template that keeps pods away
from the node role's credentials (IMDSv2, one hop).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.aws.identity import trust_policy
from zenprovision.blocks.labels import StackLabels

# The root CA of the EKS OIDC endpoints (IAM ignores it for these issuers, the API wants one).
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
DEV_LOG_TYPES = ("api", "audit", "authenticator")
ALL_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def service_principal_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


@dataclass
class EksClusterArgs:
    labels: StackLabels
    region: str
    kubernetes_version: str
    subnet_ids: list  # the subnets of the control plane's network interfaces (private ones)
    node_subnet_ids: list  # private subnets only
    instance_types: list[str]
    min_size: int
    desired_size: int
    max_size: int
    public_access_cidrs: list[str] = field(default_factory=list)  # empty: the API endpoint is private only
    admin_principal_arns: list[str] = field(default_factory=list)  # IAM users/roles made cluster admins
    node_disk_gib: int = 100  # ML images are large
    log_types: tuple[str, ...] = DEV_LOG_TYPES
    log_retention_days: int = 30
    secrets_encryption: bool = False  # a customer-managed KMS key for Kubernetes secrets
    deletion_protection: bool = False
    network_policy: bool = False  # the VPC CNI enforces Kubernetes NetworkPolicies


def check_node_sizes(min_size: int, desired_size: int, max_size: int) -> None:
    """EKS refuses a node group unless min <= desired <= max, but only when it creates the group:
    after the VPC, NAT gateway and control plane (and their bill). Refused at plan time instead."""
    if not min_size <= desired_size <= max_size:
        raise ValueError(f"node sizes must satisfy node_min_size <= node_desired_size <= node_max_size, "
                         f"not {min_size} <= {desired_size} <= {max_size}")


class EksCluster(pulumi.ComponentResource):
    cluster: aws.eks.Cluster
    node_group: aws.eks.NodeGroup
    oidc_provider: aws.iam.OpenIdConnectProvider
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        check_node_sizes(args.min_size, args.desired_size, args.max_size)
        super().__init__("zenprovision:aws:EksCluster", name, None, opts)
        tags = args.labels.aws_tags()
        cluster_role, cluster_policies = self._role(f"{name}-cluster-role", "eks.amazonaws.com",
                                                    list(CLUSTER_POLICIES), tags)
        self.cluster = self._cluster(name, args, cluster_role, cluster_policies)
        self.access_entries = self._admins(name, args)
        node_role, node_policies = self._role(f"{name}-node-role", "ec2.amazonaws.com", list(NODE_POLICIES), tags)
        template = self._launch_template(name, args)
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=args.node_subnet_ids,
            instance_types=args.instance_types,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            scaling_config={"min_size": args.min_size, "desired_size": args.desired_size, "max_size": args.max_size},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[node_role, *node_policies]),
        )
        issuer = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"] if ids else "")
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"],
            thumbprint_lists=[EKS_OIDC_THUMBPRINT], tags=tags, opts=pulumi.ResourceOptions(parent=self))
        self.issuer_host = issuer.apply(lambda url: url.removeprefix("https://"))
        self.addons = self._addons(name, args)
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority
        ).apply(lambda values: kubeconfig(values[0], values[1], (values[2] or {}).get("data", ""), args.region)))
        self.register_outputs({"cluster_name": self.cluster.name})

    def _cluster(self, name: str, args: EksClusterArgs, role: aws.iam.Role, policies: list) -> aws.eks.Cluster:
        cluster_name = args.labels.resource_name("eks", limit=100)
        tags = args.labels.aws_tags()
        child = pulumi.ResourceOptions(parent=self)
        # EKS would create this group itself, kept forever; created here it has a retention and tags.
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/eks/{cluster_name}/cluster",
                                       retention_in_days=args.log_retention_days, tags=tags, opts=child)
        encryption = None
        if args.secrets_encryption:
            key = aws.kms.Key(f"{name}-secrets-key", description=f"Kubernetes secrets of {cluster_name}",
                              enable_key_rotation=True, deletion_window_in_days=30, tags=tags, opts=child)
            encryption = {"provider": {"key_arn": key.arn}, "resources": ["secrets"]}
        return aws.eks.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            role_arn=role.arn,
            version=args.kubernetes_version,
            vpc_config={"subnet_ids": args.subnet_ids, "endpoint_private_access": True,
                        "endpoint_public_access": bool(args.public_access_cidrs),
                        **({"public_access_cidrs": args.public_access_cidrs} if args.public_access_cidrs else {})},
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            enabled_cluster_log_types=list(args.log_types),
            encryption_config=encryption,
            deletion_protection=args.deletion_protection,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, *policies, logs]),
        )

    def _admins(self, name: str, args: EksClusterArgs) -> list[aws.eks.AccessEntry]:
        """An access entry and the cluster-admin policy for each configured IAM principal."""
        entries = []
        for index, arn in enumerate(args.admin_principal_arns):
            entry = aws.eks.AccessEntry(f"{name}-admin-{index}", cluster_name=self.cluster.name, principal_arn=arn,
                                        tags=args.labels.aws_tags(), opts=pulumi.ResourceOptions(parent=self))
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}", cluster_name=self.cluster.name, principal_arn=entry.principal_arn,
                policy_arn=ADMIN_POLICY, access_scope={"type": "cluster"}, opts=pulumi.ResourceOptions(parent=self))
            entries.append(entry)
        return entries

    def _launch_template(self, name: str, args: EksClusterArgs) -> aws.ec2.LaunchTemplate:
        tags = args.labels.aws_tags()
        return aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            description="zenprovision EKS nodes: IMDSv2 with one hop, encrypted gp3 root volume",
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
            block_device_mappings=[{"device_name": "/dev/xvda", "ebs": {
                "volume_size": args.node_disk_gib, "volume_type": "gp3", "encrypted": "true",
                "delete_on_termination": "true"}}],
            tag_specifications=[{"resource_type": kind, "tags": tags} for kind in ("instance", "volume")],
            update_default_version=True,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _addons(self, name: str, args: EksClusterArgs) -> dict[str, aws.eks.Addon]:
        """vpc-cni, kube-proxy, coredns and the EBS CSI driver as EKS managed add-ons."""
        tags = args.labels.aws_tags()
        ebs_role = aws.iam.Role(f"{name}-ebs-csi", tags=tags, opts=pulumi.ResourceOptions(parent=self),
                                assume_role_policy=pulumi.Output.all(self.oidc_provider.arn, self.issuer_host).apply(
                                    lambda v: trust_policy(v[0], v[1], "kube-system", "ebs-csi-controller-sa")))
        ebs_policy = aws.iam.RolePolicyAttachment(f"{name}-ebs-csi", role=ebs_role.name,
                                                  policy_arn=f"arn:aws:iam::aws:policy/{EBS_CSI_POLICY}",
                                                  opts=pulumi.ResourceOptions(parent=ebs_role))
        after_nodes = [self.node_group]  # coredns and the CSI controller are pods: they need nodes
        cni = {"configuration_values": json.dumps({"enableNetworkPolicy": "true"})} if args.network_policy else {}
        wanted = {"vpc-cni": (cni, []), "kube-proxy": ({}, []), "coredns": ({}, after_nodes),
                  "aws-ebs-csi-driver": ({"service_account_role_arn": ebs_role.arn}, [*after_nodes, ebs_policy])}
        return {addon: aws.eks.Addon(
            f"{name}-{addon}", cluster_name=self.cluster.name, addon_name=addon,
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE", tags=tags, **extra,
            opts=pulumi.ResourceOptions(parent=self, depends_on=deps)) for addon, (extra, deps) in wanted.items()}

    def _role(self, name: str, service: str, managed: list[str], tags: dict
              ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        """A service role and its managed-policy attachments: users of the role wait for both."""
        role = aws.iam.Role(name, assume_role_policy=service_principal_policy(service), tags=tags,
                            opts=pulumi.ResourceOptions(parent=self))
        attachments = [aws.iam.RolePolicyAttachment(f"{name}-{policy}", role=role.name,
                                                    policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                                                    opts=pulumi.ResourceOptions(parent=role))
                       for policy in managed]
        return role, attachments


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
