"""The aws-k8s recipe under Pulumi mocks: what it creates and how safely."""

import json

import pytest

from zenprovision.errors import OperationFailed
from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import resolve
from zenprovision.stacks.config import Components
from zenprovision.testing import run_under_mocks
from zenprovision.testing.schema import is_taggable

RECIPE = Catalog().get("aws-k8s")
LABELS = {"stack": "dev", "recipe": "aws-k8s", "env": "dev", "owner": "alice"}


def record(env="dev", extra_labels=None, **config):
    values = resolve(RECIPE.config, {k: str(v) for k, v in config.items()}, RECIPE.name)
    return run_under_mocks(RECIPE.path, values, {**LABELS, "env": env, **(extra_labels or {})})


@pytest.fixture(scope="module")
def dev():
    return record()


@pytest.fixture(scope="module")
def prod():
    return record(env="prod", extra_labels={"deployer_cidr": "198.51.100.7/32"},
                  api_allowed_cidrs="203.0.113.0/24", admin_principal_arns="arn:aws:iam::123456789012:role/platform",
                  kserve_ingress_class="alb")


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
    issuer = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
    assert statement["Condition"] == {"StringEquals": {
        f"{issuer}:sub": "system:serviceaccount:zenprovision:zenprovision-steps",
        f"{issuer}:aud": "sts.amazonaws.com",
    }}
    policy = json.loads(dev.one("aws:iam/rolePolicy:RolePolicy", "steps-access").inputs["policy"])
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
    releases = {r.name: r for r in dev.of_type("kubernetes:helm.sh/v3:Release") if r.name.startswith("kserve")}
    assert set(releases) == {"kserve-cert-manager", "kserve-crds", "kserve-controller"}
    controller = releases["kserve-controller"]
    assert controller.inputs["values"]["kserve"]["controller"] == {
        "deploymentMode": "Standard", "gateway": {"disableIngressCreation": True}}  # in-cluster only, documented
    assert controller.inputs["chart"] == "oci://ghcr.io/kserve/charts/kserve-resources"
    assert {r.inputs["version"] for r in (controller, releases["kserve-crds"])} == {"v0.20.0"}
    assert releases["kserve-cert-manager"].inputs["version"] == "v1.21.1"
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
    # zones from the region's available ones (the mock lists them d..a): the first three in prod
    assert {s.inputs["availabilityZone"] for s in prod.of_type("aws:ec2/subnet:Subnet")} == {
        "eu-west-1a", "eu-west-1b", "eu-west-1c"}
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


# ---- issue 11: what would fail at apply ------------------------------------------------------

def test_cluster_and_nodes_wait_for_their_role_policy_attachments(dev):
    attachments = {r.name: r.urn for r in dev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    cluster = dev.one("aws:eks/cluster:Cluster")
    assert attachments["eks-cluster-role-AmazonEKSClusterPolicy"] in cluster.dependencies
    nodes = dev.one("aws:eks/nodeGroup:NodeGroup")
    for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"):
        assert attachments[f"eks-node-role-{policy}"] in nodes.dependencies, policy


def test_kubernetes_version_is_in_standard_support(dev):
    assert dev.one("aws:eks/cluster:Cluster").inputs["version"] == "1.35"  # standard support until 2027-03-27


@pytest.mark.parametrize("config, message", [
    ({"vpc_cidr": "10.0.0.0/26"}, "must be an IPv4 block from /16 to /24"),
    ({"vpc_cidr": "10.0.0.300/16"}, "is not a network block"),
    ({"vpc_id": "vpc-123"}, "vpc_id needs public_subnet_ids and private_subnet_ids"),
    ({"api_allowed_cidrs": "0.0.0.0/0"}, "opens the API to the whole internet"),
])
def test_bad_network_config_is_one_clear_line(config, message):
    with pytest.raises(OperationFailed, match=message):
        record(**config)


def test_a_smaller_vpc_is_cut_into_fitting_subnets():
    small = record(vpc_cidr="10.8.0.0/20", availability_zones="us-east-1a,us-east-1b")
    blocks = {s.name: s.inputs["cidrBlock"] for s in small.of_type("aws:ec2/subnet:Subnet")}
    assert blocks == {"network-public-0": "10.8.0.0/24", "network-public-1": "10.8.1.0/24",
                      "network-private-0": "10.8.8.0/24", "network-private-1": "10.8.9.0/24"}


def test_steps_run_an_image_from_the_stacks_own_registry(dev):
    from zenprovision import __version__

    image = dev.exports["stack"]["orchestrator"]["config"]["image"]
    assert image == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/zp-dev-pipelines:zenprovision-step-{__version__}"


# ---- issue 11: security ------------------------------------------------------------------------

def test_api_endpoint_is_never_open_to_the_world(dev, prod):
    vpc = dev.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True  # no ranges, no deployer
    assert "publicAccessCidrs" not in vpc
    vpc = prod.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["198.51.100.7/32", "203.0.113.0/24"]  # the deploying machine keeps access
    assert vpc["subnetIds"] == ["network-private-0-id", "network-private-1-id", "network-private-2-id"]


def test_control_plane_logs_on_prod_gets_all_of_them(dev, prod):
    assert dev.one("aws:eks/cluster:Cluster").inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    cluster = prod.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager",
                                                        "scheduler"]
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "eks-logs")
    assert group.inputs["name"] == "/aws/eks/zp-dev-eks/cluster" and group.urn in cluster.dependencies


def test_bucket_refuses_requests_without_tls(dev):
    policy = dev.one("aws:s3/bucketPolicy:BucketPolicy").inputs
    assert policy["bucket"] == "artifacts-bucket-id"
    statement = json.loads(policy["policy"])["Statement"]
    bucket_arn = dev.one("aws:s3/bucket:Bucket").inputs["bucketPrefix"]
    assert statement == [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                          "Resource": [f"arn:aws:s3:::{bucket_arn}20261127", f"arn:aws:s3:::{bucket_arn}20261127/*"],
                          "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]


def test_pods_cannot_reach_the_node_roles_credentials(dev):
    template = dev.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                                  "httpPutResponseHopLimit": 1}
    ebs = template.inputs["blockDeviceMappings"][0]["ebs"]
    assert (ebs["volumeSize"], ebs["volumeType"], ebs["encrypted"]) == (100, "gp3", "true")  # sized for ML images
    nodes = dev.one("aws:eks/nodeGroup:NodeGroup").inputs
    assert nodes["launchTemplate"]["id"] == "eks-nodes-id" and "diskSize" not in nodes


def test_default_security_group_allows_nothing(dev):
    group = dev.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs
    assert group["vpcId"] == "network-vpc-id" and group["ingress"] == [] and group["egress"] == []


# ---- issue 11: what a platform team expects -----------------------------------------------------

def test_admins_get_access_entries_and_the_creator_stays_admin(dev, prod):
    assert not dev.of_type("aws:eks/accessEntry:AccessEntry")
    entry = prod.one("aws:eks/accessEntry:AccessEntry").inputs
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/platform"
    association = prod.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["accessScope"] == {"type": "cluster"}
    access = prod.one("aws:eks/cluster:Cluster").inputs["accessConfig"]
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}


def test_managed_addons_with_an_irsa_role_for_the_ebs_driver(dev):
    addons = {r.inputs["addonName"]: r for r in dev.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver"}
    nodes = dev.one("aws:eks/nodeGroup:NodeGroup").urn
    assert nodes in addons["coredns"].dependencies and nodes in addons["aws-ebs-csi-driver"].dependencies
    assert addons["aws-ebs-csi-driver"].inputs["serviceAccountRoleArn"] == "arn:aws:iam::123456789012:role/eks-ebs-csi"
    trust = json.loads(dev.one("aws:iam/role:Role", "eks-ebs-csi").inputs["assumeRolePolicy"])
    issuer = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{issuer}:sub"] == \
        "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    provider = dev.one("pulumi:providers:kubernetes")
    assert {a.urn for a in addons.values()} <= set(provider.dependencies)


def test_steps_pull_images_and_never_push(dev):
    policy = json.loads(dev.one("aws:iam/rolePolicy:RolePolicy", "steps-access").inputs["policy"])
    actions = {a for rule in policy["Statement"] for a in ([rule["Action"]] if isinstance(rule["Action"], str)
                                                             else rule["Action"])}
    assert {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} <= actions
    assert not actions & {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"}


def test_noncurrent_versions_expire(dev):
    rules = dev.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert rules[0]["noncurrentVersionExpiration"] == {"noncurrentDays": 30} and rules[0]["status"] == "Enabled"


# ---- issue 11: prod vs dev -----------------------------------------------------------------------

def test_prod_gets_flow_logs_a_secrets_key_deletion_protection_and_a_nat_per_zone(dev, prod):
    assert not dev.of_type("aws:ec2/flowLog:FlowLog") and not dev.of_type("aws:kms/key:Key")
    assert len(dev.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert dev.one("aws:eks/cluster:Cluster").inputs.get("deletionProtection") is False
    flow = prod.one("aws:ec2/flowLog:FlowLog").inputs
    assert flow["trafficType"] == "ALL" and flow["vpcId"] == "network-vpc-id"
    cluster = prod.one("aws:eks/cluster:Cluster").inputs
    assert cluster["deletionProtection"] is True
    cni = prod.one("aws:eks/addon:Addon", "eks-vpc-cni").inputs
    assert json.loads(cni["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert "configurationValues" not in dev.one("aws:eks/addon:Addon", "eks-vpc-cni").inputs
    key = prod.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert cluster["encryptionConfig"] == {"provider": {"keyArn": f"arn:aws:kms:us-east-1:123456789012:{key.name}"},
                                           "resources": ["secrets"]}
    nats = prod.of_type("aws:ec2/natGateway:NatGateway")
    assert sorted(n.inputs["subnetId"] for n in nats) == [f"network-public-{i}-id" for i in range(3)]
    routes = {r.name: r.inputs["routes"][0]["natGatewayId"] for r in prod.of_type("aws:ec2/routeTable:RouteTable")
              if r.name.startswith("network-private")}
    assert routes == {f"network-private-{i}": n for i, n in enumerate(["network-nat-id", "network-nat-1-id",
                                                                         "network-nat-2-id"])}


def test_prod_safeguards_can_be_turned_off_in_config():
    lean = record(env="prod", nat_per_zone="false", flow_logs="false", secrets_encryption="false",
                  deletion_protection="false", availability_zones="eu-west-1a,eu-west-1b", cluster_autoscaler="false",
                  network_policy="false")
    assert not [r for r in lean.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "cluster-autoscaler"]
    assert not lean.of_type("aws:ec2/flowLog:FlowLog") and not lean.of_type("aws:kms/key:Key")
    assert len(lean.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert lean.one("aws:eks/cluster:Cluster").inputs["deletionProtection"] is False


def test_a_cluster_autoscaler_scoped_to_this_clusters_node_groups(dev):
    chart = dev.one("kubernetes:helm.sh/v3:Release", "autoscaler-chart").inputs
    values = chart["values"]
    assert (chart["chart"], chart["version"], chart["namespace"]) == ("cluster-autoscaler", "9.59.0", "kube-system")
    assert values["autoDiscovery"] == {"clusterName": "zp-dev-eks"} and values["image"] == {"tag": "v1.35.0"}
    role_arn = values["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role_arn == "arn:aws:iam::123456789012:role/autoscaler-role"
    trust = json.loads(dev.one("aws:iam/role:Role", "autoscaler-role").inputs["assumeRolePolicy"])
    issuer = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{issuer}:sub"] == \
        "system:serviceaccount:kube-system:cluster-autoscaler"
    resize = json.loads(dev.one("aws:iam/rolePolicy:RolePolicy", "autoscaler-access").inputs["policy"])["Statement"][0]
    assert resize["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/zp-dev-eks": "owned"}}


def test_kserve_gets_an_ingress_only_with_a_class(prod):
    controller = prod.one("kubernetes:helm.sh/v3:Release", "kserve-controller").inputs["values"]["kserve"]["controller"]
    assert controller["gateway"] == {"disableIngressCreation": False, "ingressGateway": {"className": "alb"}}


def test_no_teardown_schedule_unless_asked(dev):
    """teardown_home defaults to empty: no CronJob, no namespace, no identity for it."""
    assert not dev.of_type("kubernetes:batch/v1:CronJob")
    assert not [r for r in dev.resources if "teardown" in r.name or "teardown" in r.type.lower()]
