"""Config values the cloud APIs refuse only when they create the resource (after the VPC, NAT and
control plane are up and billing) are refused before anything is created."""

import pytest

from zenprovision.blocks.aws.cluster import check_node_sizes
from zenprovision.blocks.gcp.cluster import check_node_counts


@pytest.mark.parametrize("recipe, pairs", [
    ("aws-k8s", ["node_max_size=0"]),                      # EKS: maxSize must be at least 1
    ("aws-k8s", ["node_min_size=-1"]),
    ("aws-k8s", ["node_desired_size=-2"]),
    ("aws-k8s", ["node_disk_gib=-5"]),                     # below the EKS AMI's 20 GiB snapshot
    ("aws-k8s", ["node_disk_gib=8"]),
    ("aws-k8s", ["noncurrent_version_days=-1"]),
    ("gcp-k8s", ["project=acme-ml", "release_channel=weekly"]),
    ("gcp-k8s", ["project=acme-ml", "node_max_count=0"]),
    ("gcp-k8s", ["project=acme-ml", "node_disk_gb=5"]),
    ("gcp-k8s", ["project=acme-ml", "noncurrent_version_days=-3"]),
])
def test_a_value_the_cloud_refuses_is_bad_input_before_anything_runs(home, cli, recipe, pairs):
    args = [arg for pair in pairs for arg in ("-c", pair)]
    result = cli("plan", recipe, "--stack", "v", "--offline", *args)
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1 and pairs[-1].split("=")[0] in result.err


@pytest.mark.parametrize("sizes", [(3, 5, 2), (2, 1, 3), (1, 4, 3)])
def test_eks_node_sizes_out_of_order_are_refused(sizes):
    with pytest.raises(ValueError, match="node_min_size <= node_desired_size <= node_max_size"):
        check_node_sizes(*sizes)


def test_eks_node_sizes_in_order_pass():
    check_node_sizes(0, 0, 1)
    check_node_sizes(1, 2, 3)


def test_gke_min_above_max_is_refused():
    with pytest.raises(ValueError, match="must not exceed node_max_count"):
        check_node_counts(5, 1)
    check_node_counts(1, 1)


def test_the_plan_refuses_node_sizes_eks_would_refuse_after_creating_the_cluster(home, cli):
    result = cli("plan", "aws-k8s", "--stack", "v", "--offline",
                 "-c", "node_min_size=3", "-c", "node_desired_size=5", "-c", "node_max_size=2")
    assert result.code != 0 and "node_min_size <= node_desired_size <= node_max_size" in result.err
    assert "3 <= 5 <= 2" in result.err


def test_the_plan_refuses_a_gke_pool_whose_minimum_exceeds_its_maximum(home, cli):
    result = cli("plan", "gcp-k8s", "--stack", "v", "--offline",
                 "-c", "project=acme-ml", "-c", "node_min_count=5", "-c", "node_max_count=1")
    assert result.code != 0 and "must not exceed node_max_count" in result.err


@pytest.mark.parametrize("version", ["1.35.1", "v1.35", "1.x", "latest"])
def test_a_kubernetes_version_eks_does_not_take_is_bad_input(home, cli, version):
    result = cli("plan", "aws-k8s", "--stack", "v", "--offline", "-c", f"kubernetes_version={version}")
    assert result.code == 2 and "kubernetes_version" in result.err, result.err


def test_a_minor_version_is_taken(home, cli):
    result = cli("plan", "aws-k8s", "--stack", "v", "--offline", "-c", "kubernetes_version=1.34", "--json")
    assert result.code == 0, result.err
