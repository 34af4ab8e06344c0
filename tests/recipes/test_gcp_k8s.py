"""The gcp-k8s recipe under Pulumi mocks: what it creates and how safely."""

import json

import pytest

from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import resolve
from zenprovision.stacks.config import Components
from zenprovision.testing import run_under_mocks
from zenprovision.testing.schema import label_field

RECIPE = Catalog().get("gcp-k8s")
LABELS = {"stack": "dev", "recipe": "gcp-k8s", "env": "dev", "owner": "Alice.Smith"}


def record(env="dev", **config):
    values = resolve(RECIPE.config, {"project": "acme-ml", **{k: str(v) for k, v in config.items()}}, RECIPE.name)
    return run_under_mocks(RECIPE.path, values, {**LABELS, "env": env})


@pytest.fixture(scope="module")
def dev():
    return record()


def test_every_labelable_resource_carries_the_four_labels(dev):
    expected = {"zenprovision_stack": "dev", "zenprovision_recipe": "gcp-k8s",
                "zenprovision_env": "dev", "zenprovision_owner": "alice_smith"}
    labelable = [r for r in dev.resources if r.custom and label_field(r.type)]
    assert {r.type for r in labelable} >= {"gcp:storage/bucket:Bucket", "gcp:container/cluster:Cluster",
                                          "gcp:artifactregistry/repository:Repository"}
    for resource in labelable:
        assert resource.inputs.get(label_field(resource.type)) == expected, resource.name
    # provider inputs travel as JSON strings
    assert json.loads(dev.one("pulumi:providers:gcp").inputs["defaultLabels"]) == expected
    node_labels = dev.one("gcp:container/nodePool:NodePool").inputs["nodeConfig"]["resourceLabels"]
    assert node_labels == expected


def test_bucket_is_private_and_uniform(dev):
    bucket = dev.one("gcp:storage/bucket:Bucket").inputs
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["forceDestroy"] is True


def test_workload_identity_is_scoped_to_the_namespace_bucket_and_registry(dev):
    account = dev.one("gcp:serviceaccount/account:Account")
    email = f"{account.inputs['accountId']}@acme-ml.iam.gserviceaccount.com"
    binding = dev.one("gcp:serviceaccount/iAMMember:IAMMember").inputs
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == "serviceAccount:acme-ml.svc.id.goog[zenprovision/zenprovision-steps]"
    bucket_access = dev.one("gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert bucket_access["bucket"] == dev.one("gcp:storage/bucket:Bucket").inputs["name"]
    assert bucket_access["member"] == f"serviceAccount:{email}"
    registry_access = dev.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember").inputs
    assert registry_access["repository"] == "zp-dev-pipelines" and registry_access["member"] == f"serviceAccount:{email}"
    iam = [r for r in dev.resources if "IAM" in r.type or "Iam" in r.type]
    assert all("allUsers" not in json.dumps(r.inputs) and "allAuthenticatedUsers" not in json.dumps(r.inputs) for r in iam)
    assert not dev.of_type("gcp:serviceaccount/key:Key")  # no static keys
    ksa = dev.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert ksa["annotations"] == {"iam.gke.io/gcp-service-account": email}


def test_cluster_has_private_nodes_and_workload_identity(dev):
    cluster = dev.one("gcp:container/cluster:Cluster").inputs
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "acme-ml.svc.id.goog"}
    assert cluster["removeDefaultNodePool"] is True and cluster["deletionProtection"] is False
    pool = dev.one("gcp:container/nodePool:NodePool").inputs
    assert pool["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert pool["autoscaling"] == {"minNodeCount": 1, "maxNodeCount": 3}


def test_stack_output_is_a_valid_stack_config(dev):
    components = Components.model_validate(dev.exports["stack"])
    assert (components.artifact_store.flavor, components.container_registry.flavor) == ("gcs", "gar")
    assert components.container_registry.config["uri"] == "us-central1-docker.pkg.dev/acme-ml/zp-dev-pipelines"
    assert (components.orchestrator.flavor, components.model_server.flavor) == ("kubernetes", "kserve")
    assert dev.secret_exports == ["kubeconfig"]


def test_autopilot_and_prod():
    prod = record(env="prod", autopilot="true", bucket_versioning="false")
    cluster = prod.one("gcp:container/cluster:Cluster").inputs
    assert cluster["enableAutopilot"] is True and cluster["deletionProtection"] is True
    assert not prod.of_type("gcp:container/nodePool:NodePool")
    bucket = prod.one("gcp:storage/bucket:Bucket").inputs
    assert bucket["forceDestroy"] is False and bucket["versioning"] == {"enabled": False}
