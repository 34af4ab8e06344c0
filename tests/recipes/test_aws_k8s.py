"""The aws-k8s recipe under Pulumi mocks: what it creates and how safely."""

import json

import pytest

from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import resolve
from zenprovision.stacks.config import Components
from zenprovision.testing import run_under_mocks
from zenprovision.testing.schema import is_taggable

RECIPE = Catalog().get("aws-k8s")
LABELS = {"stack": "dev", "recipe": "aws-k8s", "env": "dev", "owner": "alice"}


def record(env="dev", **config):
    values = resolve(RECIPE.config, {k: str(v) for k, v in config.items()}, RECIPE.name)
    return run_under_mocks(RECIPE.path, values, {**LABELS, "env": env})


@pytest.fixture(scope="module")
def dev():
    return record()


def test_every_taggable_resource_carries_the_four_tags(dev):
    taggable = [r for r in dev.resources if r.custom and is_taggable(r.type)]
    assert len(taggable) >= 15
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        for key, value in {"zenprovision:stack": "dev", "zenprovision:recipe": "aws-k8s",
                           "zenprovision:env": "dev", "zenprovision:owner": "alice"}.items():
            assert tags.get(key) == value, f"{resource.type} {resource.name} lacks {key}"


def test_bucket_is_private_encrypted_and_versioned(dev):
    bucket = dev.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is True  # env dev
    block = dev.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    sse = dev.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert dev.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    assert "acl" not in bucket.inputs and "policy" not in bucket.inputs


def test_irsa_role_is_scoped_to_the_namespace_bucket_and_registry(dev):
    trust = json.loads(dev.one("aws:iam/role:Role", "steps-role").inputs["assumeRolePolicy"])
    statement = trust["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].startswith("arn:aws:iam::123456789012:oidc-provider/oidc.eks.")
    conditions = statement["Condition"]["StringEquals"]
    assert set(conditions.values()) == {"system:serviceaccount:zenprovision:zenprovision-steps", "sts.amazonaws.com"}
    policy = json.loads(dev.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    bucket = dev.one("aws:s3/bucket:Bucket")
    bucket_arn = f"arn:aws:s3:::{bucket.inputs['bucketPrefix']}20261127"
    repository_arn = "arn:aws:ecr:us-east-1:123456789012:repository/zp-dev-pipelines"
    for rule in policy["Statement"]:
        actions = rule["Action"] if isinstance(rule["Action"], list) else [rule["Action"]]
        assert rule["Effect"] == "Allow" and "*" not in "".join(actions)
        if rule["Resource"] == "*":
            assert actions == ["ecr:GetAuthorizationToken"]  # cannot be scoped on AWS
        else:
            assert rule["Resource"] in (bucket_arn, f"{bucket_arn}/*", repository_arn)
    account = dev.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/steps-role"}
    assert account["namespace"] == "zenprovision" and account["name"] == "zenprovision-steps"


def test_no_static_credentials_anywhere(dev):
    forbidden = {"aws:iam/accessKey:AccessKey", "aws:iam/user:User", "aws:iam/userPolicy:UserPolicy"}
    assert not [r for r in dev.resources if r.type in forbidden]
    text = json.dumps([r.inputs for r in dev.resources]) + json.dumps(dev.exports)
    assert "AKIA" not in text and "aws_secret_access_key" not in text.lower()


def test_nodes_run_in_private_subnets(dev):
    subnets = {r.name: r for r in dev.of_type("aws:ec2/subnet:Subnet")}
    nodes = dev.one("aws:eks/nodeGroup:NodeGroup").inputs
    assert nodes["subnetIds"] == ["network-private-0-id", "network-private-1-id"]
    assert all(subnets[n.removesuffix("-id")].inputs["mapPublicIpOnLaunch"] is False for n in nodes["subnetIds"])
    routes = dev.one("aws:ec2/routeTable:RouteTable", "network-private").inputs["routes"]
    assert routes == [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "network-nat-id"}]
    assert nodes["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}


def test_registry_scans_and_expires_untagged_images(dev):
    repository = dev.one("aws:ecr/repository:Repository").inputs
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["forceDelete"] is True
    rule = json.loads(dev.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"][0]
    assert rule["selection"]["tagStatus"] == "untagged"


def test_kserve_in_raw_deployment_mode_after_cert_manager(dev):
    releases = {r.name: r for r in dev.of_type("kubernetes:helm.sh/v3:Release")}
    assert set(releases) == {"kserve-cert-manager", "kserve-crds", "kserve-controller"}
    controller = releases["kserve-controller"]
    assert controller.inputs["values"]["kserve"]["controller"]["deploymentMode"] == "RawDeployment"
    assert releases["kserve-crds"].urn in controller.dependencies
    assert releases["kserve-cert-manager"].urn in releases["kserve-crds"].dependencies


def test_stack_output_is_a_valid_stack_config_and_kubeconfig_is_secret(dev):
    components = Components.model_validate(dev.exports["stack"])
    assert components.artifact_store.flavor == "s3"
    assert components.container_registry.config["uri"].endswith("/zp-dev-pipelines")
    assert components.orchestrator.config["namespace"] == "zenprovision"
    assert components.model_server.flavor == "kserve"
    assert dev.secret_exports == ["kubeconfig"]
    kubeconfig = json.loads(dev.exports["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "aws"


def test_prod_keeps_data_and_config_is_honoured():
    prod = record(env="prod", bucket_versioning="false", region="eu-west-1", node_max_size=5)
    assert prod.one("aws:s3/bucket:Bucket").inputs["forceDestroy"] is False
    assert prod.one("aws:ecr/repository:Repository").inputs["forceDelete"] is False
    assert prod.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Suspended"
    assert prod.one("pulumi:providers:aws").inputs["region"] == "eu-west-1"
    assert {s.inputs["availabilityZone"] for s in prod.of_type("aws:ec2/subnet:Subnet")} == {"eu-west-1a", "eu-west-1b"}
    assert prod.one("aws:eks/nodeGroup:NodeGroup").inputs["scalingConfig"]["maxSize"] == 5
    assert not [r for r in prod.resources if r.options["protect"] or r.options["retain_on_delete"]]


def test_existing_vpc_creates_no_network():
    existing = record(vpc_id="vpc-123", public_subnet_ids="subnet-a,subnet-b", private_subnet_ids="subnet-c,subnet-d")
    assert not existing.of_type("aws:ec2/vpc:Vpc") and not existing.of_type("aws:ec2/subnet:Subnet")
    assert existing.one("aws:eks/nodeGroup:NodeGroup").inputs["subnetIds"] == ["subnet-c", "subnet-d"]


def test_pipeline_service_account_may_manage_inference_services_only(dev):
    role = dev.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs
    assert role["rules"] == [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                              "verbs": ["get", "list", "watch", "create", "update", "patch"]}]
    binding = dev.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "zenprovision-steps", "namespace": "zenprovision"}]
    assert binding["roleRef"]["kind"] == "Role"
