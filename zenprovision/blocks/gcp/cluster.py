"""A GKE cluster with private nodes and Workload Identity: Standard with an autoscaled node
pool, or Autopilot. Its own VPC, with Cloud NAT so private nodes can pull images.

Nodes run as a dedicated service account with the node role only (not the Compute Engine
default account, CIS GKE 5.2.1), with Secure Boot. The public API endpoint answers only
the authorized networks. Prod adds a KMS key for secrets, subnet flow logs, control-plane
logs and network policy (Dataplane V2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from zenprovision.blocks.labels import StackLabels

MASTER_CIDR = "172.16.0.0/28"
# Admission webhooks the control plane must reach on the nodes: GKE's own rule opens only
# 443 and 10250 (cert-manager's webhook); KServe's listens on 9443, many others on 8443.
WEBHOOK_PORTS = ("8443", "9443")
NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
DEV_LOG_COMPONENTS = ("SYSTEM_COMPONENTS", "WORKLOADS")
PROD_LOG_COMPONENTS = ("SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER")
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


@dataclass
class GkeClusterArgs:
    labels: StackLabels
    project: str
    region: str
    autopilot: bool
    machine_type: str
    min_nodes: int
    max_nodes: int
    release_channel: str = "REGULAR"
    master_authorized_cidrs: list[str] = field(default_factory=list)  # who may reach the public endpoint
    disk_size_gb: int = 100
    secrets_encryption: bool = False  # a Cloud KMS key for Kubernetes secrets (application-layer encryption)
    flow_logs: bool = False
    network_policy: bool = False  # Dataplane V2 (Standard; Autopilot always has it)
    log_components: tuple[str, ...] | None = None  # None: by env (prod adds the control plane's)
    deletion_protection: bool | None = None  # None: on unless env dev


def check_node_counts(min_nodes: int, max_nodes: int) -> None:
    """GKE refuses a pool whose autoscaling minimum exceeds its maximum, but only when it creates the
    pool: after the network, NAT and cluster. Refused at plan time instead."""
    if min_nodes > max_nodes:
        raise ValueError(f"node_min_count ({min_nodes}) must not exceed node_max_count ({max_nodes})")


class GkeCluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    node_account: gcp.serviceaccount.Account
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        if not args.autopilot:
            check_node_counts(args.min_nodes, args.max_nodes)
        super().__init__("zenprovision:gcp:GkeCluster", name, None, opts)
        network, subnet = self._network(name, args)
        self.node_account, node_roles = self._node_account(name, args)
        encryption = self._secrets_key(name, args) if args.secrets_encryption else []
        self.cluster = self._cluster(name, args, network, subnet, [*node_roles, *encryption],
                                     encryption[0] if encryption else None)
        if not args.autopilot:
            self.node_pool = self._node_pool(name, args)
        gcp.compute.Firewall(
            f"{name}-webhooks", project=args.project, network=network.id, name=args.labels.resource_name("webhooks"),
            description="GKE control plane to admission webhooks on the nodes (KServe 9443)", direction="INGRESS",
            source_ranges=[MASTER_CIDR], allows=[{"protocol": "tcp", "ports": list(WEBHOOK_PORTS)}],
            opts=pulumi.ResourceOptions(parent=self))
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.master_auth
        ).apply(lambda v: kubeconfig(v[0], v[1], (v[2] or {}).get("cluster_ca_certificate", ""))))
        self.register_outputs({"cluster_name": self.cluster.name})

    def _cluster(self, name: str, args: GkeClusterArgs, network: gcp.compute.Network,
                 subnet: gcp.compute.Subnetwork, after: list, key: gcp.kms.CryptoKey | None) -> gcp.container.Cluster:
        """Standard (default pool removed) or Autopilot, created after its node account's roles and key."""
        common = dict(
            project=args.project, location=args.region, network=network.id, subnetwork=subnet.id,
            name=args.labels.resource_name("gke", limit=40), resource_labels=args.labels.gcp_labels(),
            release_channel={"channel": args.release_channel},
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": False,
                                    "master_ipv4_cidr_block": MASTER_CIDR},
            master_authorized_networks_config={"gcp_public_cidrs_access_enabled": False, "cidr_blocks": [
                {"cidr_block": cidr, "display_name": f"allowed-{index}"}
                for index, cidr in enumerate(args.master_authorized_cidrs)]},
            logging_config={"enable_components": list(_log_components(args))},
            deletion_protection=(not args.labels.is_dev) if args.deletion_protection is None
            else args.deletion_protection,
            **({"database_encryption": {"state": "ENCRYPTED", "key_name": key.id}} if key is not None else {}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        if args.autopilot:
            return gcp.container.Cluster(f"{name}-cluster", enable_autopilot=True, **common, cluster_autoscaling={
                "auto_provisioning_defaults": {"service_account": self.node_account.email,
                                               "oauth_scopes": [CLOUD_PLATFORM]}})
        return gcp.container.Cluster(
            f"{name}-cluster", remove_default_node_pool=True, initial_node_count=1,
            workload_identity_config={"workload_pool": f"{args.project}.svc.id.goog"},
            node_config={"service_account": self.node_account.email, "oauth_scopes": [CLOUD_PLATFORM],
                         "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True}},
            **({"datapath_provider": "ADVANCED_DATAPATH"} if args.network_policy else {}), **common)

    def _network(self, name: str, args: GkeClusterArgs) -> tuple[gcp.compute.Network, gcp.compute.Subnetwork]:
        child = pulumi.ResourceOptions(parent=self)
        network = gcp.compute.Network(f"{name}-network", project=args.project, auto_create_subnetworks=False,
                                      name=args.labels.resource_name("net"), opts=child)
        flow_logs = {"log_config": {"aggregation_interval": "INTERVAL_5_SEC", "flow_sampling": 0.5,
                                    "metadata": "INCLUDE_ALL_METADATA"}} if args.flow_logs else {}
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet", project=args.project, region=args.region, network=network.id,
            name=args.labels.resource_name("nodes"), ip_cidr_range="10.10.0.0/20", private_ip_google_access=True,
            secondary_ip_ranges=[{"range_name": "pods", "ip_cidr_range": "10.20.0.0/14"},
                                 {"range_name": "services", "ip_cidr_range": "10.24.0.0/20"}],
            **flow_logs, opts=child)
        router = gcp.compute.Router(f"{name}-router", project=args.project, region=args.region, network=network.id,
                                    opts=child)
        gcp.compute.RouterNat(f"{name}-nat", project=args.project, region=args.region, router=router.name,
                              nat_ip_allocate_option="AUTO_ONLY",
                              source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES", opts=child)
        return network, subnet

    def _node_account(self, name: str, args: GkeClusterArgs
                      ) -> tuple[gcp.serviceaccount.Account, list[gcp.projects.IAMMember]]:
        """The nodes' own service account: write logs and metrics, read images; nothing else."""
        account = gcp.serviceaccount.Account(
            f"{name}-nodes-account", project=args.project, account_id=args.labels.resource_name("nodes", limit=30),
            display_name=f"zenprovision GKE nodes of stack {args.labels.stack}", opts=pulumi.ResourceOptions(parent=self))
        member = pulumi.Output.concat("serviceAccount:", account.email)
        roles = [gcp.projects.IAMMember(f"{name}-nodes-{role.split('/')[1].split('.')[0]}", project=args.project,
                                        role=role, member=member, opts=pulumi.ResourceOptions(parent=account))
                 for role in NODE_ROLES]
        return account, roles

    def _secrets_key(self, name: str, args: GkeClusterArgs) -> list[pulumi.Resource]:
        """[key, grant]: a Cloud KMS key that GKE's service agent may use for secrets.

        Google Cloud never deletes a key ring or key: destroy only drops them from state (and
        destroys the key's versions). A fixed ring name would exist already when the stack is
        deployed again after a destroy, and the create would fail; Pulumi's auto-name gives each
        deployment its own ring (an existing stack keeps the name in its state).
        """
        child = pulumi.ResourceOptions(parent=self)
        ring = gcp.kms.KeyRing(f"{name}-keys", project=args.project, location=args.region, opts=child)
        key = gcp.kms.CryptoKey(f"{name}-secrets-key", key_ring=ring.id, name="kubernetes-secrets",
                                rotation_period="7776000s", labels=args.labels.gcp_labels(), opts=child)
        number = gcp.organizations.get_project(project_id=args.project,
                                               opts=pulumi.InvokeOptions(parent=self)).number
        grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-key-gke", crypto_key_id=key.id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=f"serviceAccount:service-{number}@container-engine-robot.iam.gserviceaccount.com", opts=child)
        return [key, grant]

    def _node_pool(self, name: str, args: GkeClusterArgs) -> gcp.container.NodePool:
        """Autoscaled nodes. The initial count forces a new pool when it changes: it stays 1 (the
        autoscaler brings the pool to its minimum), so min/max changes update in place."""
        return gcp.container.NodePool(
            f"{name}-nodes", project=args.project, location=args.region, cluster=self.cluster.name,
            autoscaling={"min_node_count": args.min_nodes, "max_node_count": args.max_nodes},
            initial_node_count=1,
            node_config={"machine_type": args.machine_type, "oauth_scopes": [CLOUD_PLATFORM],
                         "service_account": self.node_account.email,
                         "disk_size_gb": args.disk_size_gb, "disk_type": "pd-balanced",
                         "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                         "workload_metadata_config": {"mode": "GKE_METADATA"},
                         "resource_labels": args.labels.gcp_labels()},
            management={"auto_repair": True, "auto_upgrade": True},
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]))


def kubeconfig(cluster: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig that gets tokens from gke-gcloud-auth-plugin: no static credentials."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": cluster,
        "clusters": [{"name": cluster, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "users": [{"name": cluster, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "gke-gcloud-auth-plugin",
            "provideClusterInfo": True}}}],
    })


def _log_components(args: GkeClusterArgs) -> tuple[str, ...]:
    """What the cluster logs: given, or by env, so a recipe that says nothing is right in prod."""
    if args.log_components is not None:
        return args.log_components
    return PROD_LOG_COMPONENTS if args.labels.is_prod else DEV_LOG_COMPONENTS
