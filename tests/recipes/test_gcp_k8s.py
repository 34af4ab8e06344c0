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


def record(env="dev", extra_labels=None, **config):
    values = resolve(RECIPE.config, {"project": "acme-ml", **{k: str(v) for k, v in config.items()}}, RECIPE.name)
    return run_under_mocks(RECIPE.path, values, {**LABELS, "env": env, **(extra_labels or {})})


@pytest.fixture(scope="module")
def dev():
    return record()


@pytest.fixture(scope="module")
def prod():
    return record(env="prod", extra_labels={"deployer_cidr": "198.51.100.7/32"}, api_allowed_cidrs="203.0.113.0/24")


def test_every_labelable_resource_carries_the_four_labels(dev):
    expected = {"zenprovision_stack": "dev", "zenprovision_recipe": "gcp-k8s",
                "zenprovision_env": "dev", "zenprovision_owner": "alice_smith"}
    labelable = [r for r in dev.resources if r.custom and label_field(r.type)]
    assert {r.type for r in labelable} >= {"gcp:storage/bucket:Bucket", "gcp:container/cluster:Cluster",
                                          "gcp:artifactregistry/repository:Repository"}
    for resource in labelable:
        assert resource.inputs.get(label_field(resource.type)) == expected, resource.name
    # provider inputs travel as JSON strings
    assert json.loads(dev.one("pulumi:providers:gcp", "gcp").inputs["defaultLabels"]) == expected
    node_labels = dev.one("gcp:container/nodePool:NodePool").inputs["nodeConfig"]["resourceLabels"]
    assert node_labels == expected


def test_bucket_is_private_and_uniform(dev):
    bucket = dev.one("gcp:storage/bucket:Bucket").inputs
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["forceDestroy"] is True


def test_workload_identity_is_scoped_to_the_namespace_bucket_and_registry(dev):
    account = dev.one("gcp:serviceaccount/account:Account", "steps-account")
    email = f"{account.inputs['accountId']}@acme-ml.iam.gserviceaccount.com"
    binding = dev.one("gcp:serviceaccount/iAMMember:IAMMember").inputs
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == "serviceAccount:acme-ml.svc.id.goog[zenprovision/zenprovision-steps]"
    bucket_access = dev.one("gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert bucket_access["bucket"] == dev.one("gcp:storage/bucket:Bucket").inputs["name"]
    assert bucket_access["member"] == f"serviceAccount:{email}"
    registry_access = dev.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember").inputs
    assert registry_access["repository"] == "zp-dev-pipelines" and registry_access["member"] == f"serviceAccount:{email}"
    assert registry_access["role"] == "roles/artifactregistry.reader"  # steps pull images, they never push
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


# ---- issue 11 ------------------------------------------------------------------------------------

def test_workload_identity_binding_waits_for_the_cluster(dev):
    binding = dev.one("gcp:serviceaccount/iAMMember:IAMMember")
    assert dev.one("gcp:container/cluster:Cluster").urn in binding.dependencies


def test_control_plane_reaches_the_kserve_webhook_on_private_nodes(dev):
    rule = dev.one("gcp:compute/firewall:Firewall").inputs
    assert rule["direction"] == "INGRESS" and rule["sourceRanges"] == ["172.16.0.0/28"]
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["8443", "9443"]}]
    assert rule["network"] == "gke-network-id"
    assert dev.one("gcp:container/cluster:Cluster").inputs["privateClusterConfig"]["masterIpv4CidrBlock"] == \
        "172.16.0.0/28"


def test_public_endpoint_answers_authorized_networks_only(dev, prod):
    networks = dev.one("gcp:container/cluster:Cluster").inputs["masterAuthorizedNetworksConfig"]
    assert networks == {"gcpPublicCidrsAccessEnabled": False, "cidrBlocks": []}
    networks = prod.one("gcp:container/cluster:Cluster").inputs["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in networks["cidrBlocks"]] == ["198.51.100.7/32", "203.0.113.0/24"]


def test_nodes_run_as_a_dedicated_least_privilege_account_with_secure_boot(dev):
    account = dev.one("gcp:serviceaccount/account:Account", "gke-nodes-account")
    email = f"{account.inputs['accountId']}@acme-ml.iam.gserviceaccount.com"
    pool = dev.one("gcp:container/nodePool:NodePool").inputs["nodeConfig"]
    assert pool["serviceAccount"] == email
    assert pool["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert (pool["diskSizeGb"], pool["diskType"]) == (100, "pd-balanced")
    assert dev.one("gcp:container/cluster:Cluster").inputs["nodeConfig"]["serviceAccount"] == email
    grants = dev.of_type("gcp:projects/iAMMember:IAMMember")
    assert sorted(g.inputs["role"] for g in grants) == ["roles/artifactregistry.reader",
                                                        "roles/container.defaultNodeServiceAccount"]
    assert all(g.inputs["member"] == f"serviceAccount:{email}" for g in grants)
    assert {g.urn for g in grants} <= set(dev.one("gcp:container/cluster:Cluster").dependencies)


def test_autopilot_nodes_use_the_dedicated_account_too():
    autopilot = record(autopilot="true")
    defaults = autopilot.one("gcp:container/cluster:Cluster").inputs["clusterAutoscaling"]["autoProvisioningDefaults"]
    account = autopilot.one("gcp:serviceaccount/account:Account", "gke-nodes-account").inputs["accountId"]
    assert defaults["serviceAccount"] == f"{account}@acme-ml.iam.gserviceaccount.com"


def test_the_program_enables_the_apis_before_anything_else(dev):
    services = {r.inputs["service"]: r for r in dev.of_type("gcp:projects/service:Service")}
    assert {"iam.googleapis.com", "container.googleapis.com", "compute.googleapis.com",
            "artifactregistry.googleapis.com"} <= set(services)
    assert all(s.inputs["disableOnDestroy"] is False for s in services.values())
    provider = dev.one("pulumi:providers:gcp", "gcp")
    assert {s.urn for s in services.values()} <= set(provider.dependencies)


def test_changing_the_minimum_node_count_updates_the_pool_in_place():
    """initialNodeCount forces a new pool: it must not follow node_min_count."""
    pools = [record(node_min_count=n).one("gcp:container/nodePool:NodePool").inputs for n in (1, 3)]
    assert pools[0]["initialNodeCount"] == pools[1]["initialNodeCount"] == 1
    assert pools[1]["autoscaling"]["minNodeCount"] == 3


def test_noncurrent_versions_expire_and_steps_have_an_image(dev):
    from zenprovision import __version__

    rules = dev.one("gcp:storage/bucket:Bucket").inputs["lifecycleRules"]
    assert rules == [{"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30,
                                                                  "withState": "ARCHIVED"}}]
    image = dev.exports["stack"]["orchestrator"]["config"]["image"]
    assert image == f"us-central1-docker.pkg.dev/acme-ml/zp-dev-pipelines/step:zenprovision-{__version__}"


def test_prod_gets_a_secrets_key_flow_logs_control_plane_logs_and_network_policy(dev, prod):
    assert not dev.of_type("gcp:kms/cryptoKey:CryptoKey")
    dev_cluster = dev.one("gcp:container/cluster:Cluster").inputs
    assert "databaseEncryption" not in dev_cluster and "datapathProvider" not in dev_cluster
    assert "logConfig" not in dev.one("gcp:compute/subnetwork:Subnetwork").inputs
    cluster = prod.one("gcp:container/cluster:Cluster")
    key = prod.one("gcp:kms/cryptoKey:CryptoKey")
    assert cluster.inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key.name + "-id"}
    grant = prod.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert grant.inputs["member"] == "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com"
    assert grant.urn in cluster.dependencies
    assert "cloudkms.googleapis.com" in {s.inputs["service"] for s in prod.of_type("gcp:projects/service:Service")}
    assert cluster.inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    assert set(cluster.inputs["loggingConfig"]["enableComponents"]) >= {"APISERVER", "CONTROLLER_MANAGER", "SCHEDULER"}
    assert prod.one("gcp:compute/subnetwork:Subnetwork").inputs["logConfig"]["metadata"] == "INCLUDE_ALL_METADATA"
    assert cluster.inputs["deletionProtection"] is True


def test_no_teardown_schedule_unless_asked(dev):
    """teardown_home defaults to empty: no CronJob, no namespace, no identity for it."""
    assert not dev.of_type("kubernetes:batch/v1:CronJob")
    assert not [r for r in dev.resources if "teardown" in r.name or "teardown" in r.type.lower()]
