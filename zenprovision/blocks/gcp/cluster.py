"""A GKE cluster with private nodes and Workload Identity: Standard with an autoscaled node
pool, or Autopilot. Its own VPC, with Cloud NAT so private nodes can pull images."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from zenprovision.blocks.labels import StackLabels


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


class GkeCluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:gcp:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = args.labels.gcp_labels()
        network = gcp.compute.Network(f"{name}-network", project=args.project, auto_create_subnetworks=False,
                                      name=args.labels.resource_name("net"), opts=child)
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet", project=args.project, region=args.region, network=network.id,
            name=args.labels.resource_name("nodes"), ip_cidr_range="10.10.0.0/20", private_ip_google_access=True,
            secondary_ip_ranges=[{"range_name": "pods", "ip_cidr_range": "10.20.0.0/14"},
                                 {"range_name": "services", "ip_cidr_range": "10.24.0.0/20"}],
            opts=child)
        router = gcp.compute.Router(f"{name}-router", project=args.project, region=args.region, network=network.id,
                                    opts=child)
        gcp.compute.RouterNat(f"{name}-nat", project=args.project, region=args.region, router=router.name,
                              nat_ip_allocate_option="AUTO_ONLY",
                              source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES", opts=child)
        common = dict(
            project=args.project, location=args.region, network=network.id, subnetwork=subnet.id,
            name=args.labels.resource_name("gke", limit=40), resource_labels=labels,
            release_channel={"channel": args.release_channel},
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": False,
                                    "master_ipv4_cidr_block": "172.16.0.0/28"},
            deletion_protection=not args.labels.is_dev,
        )
        if args.autopilot:
            self.cluster = gcp.container.Cluster(f"{name}-cluster", enable_autopilot=True, **common, opts=child)
        else:
            self.cluster = gcp.container.Cluster(
                f"{name}-cluster", remove_default_node_pool=True, initial_node_count=1,
                workload_identity_config={"workload_pool": f"{args.project}.svc.id.goog"}, **common, opts=child)
            self.node_pool = gcp.container.NodePool(
                f"{name}-nodes", project=args.project, location=args.region, cluster=self.cluster.name,
                autoscaling={"min_node_count": args.min_nodes, "max_node_count": args.max_nodes},
                initial_node_count=args.min_nodes,
                node_config={"machine_type": args.machine_type, "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                             "workload_metadata_config": {"mode": "GKE_METADATA"}, "resource_labels": labels},
                opts=child)
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.master_auth
        ).apply(lambda v: kubeconfig(v[0], v[1], (v[2] or {}).get("cluster_ca_certificate", ""))))
        self.register_outputs({"cluster_name": self.cluster.name})


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
