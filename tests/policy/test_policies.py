"""Each policy on a resource that passes and one that fails, as plain functions (fast, no Pulumi)."""

from __future__ import annotations

import json

import pytest

from zenprovision.policy import POLICIES, Resource, Settings, evaluate

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
TAGS = {"zenprovision:stack": "s", "zenprovision:recipe": "r", "zenprovision:env": "dev", "zenprovision:owner": "o"}
PROD_TAGS = {**TAGS, "zenprovision:env": "prod"}
LABELS = {k.replace(":", "_"): v for k, v in TAGS.items()}


def res(type_, name, props=None, deps=(), parent="", **options) -> Resource:
    return Resource(type_, name, f"urn:{name}", dict(props or {}), dependencies=tuple(f"urn:{d}" for d in deps),
                    parent=parent, **options)


def hits(resources, settings=None) -> set[tuple[str, str]]:
    return {(f.policy, f.resource.split(" ")[0]) for f in evaluate(resources, settings)}


TLS_POLICY = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def s3_stack(policy=TLS_POLICY, flags=True, encryption=True, acl=None):
    bucket = res("aws:s3/bucket:Bucket", "data", {"tags": TAGS, "bucket": "data-1", **({"acl": acl} if acl else {})})
    block = {f: flags for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}
    found = [bucket, res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "block",
                         {"bucket": "data-1", **block}, deps=["data"])]
    if encryption:
        found.append(res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                         "sse", {"bucket": "data-1", "rules": []}, deps=["data"]))
    if policy is not None:
        found.append(res("aws:s3/bucketPolicy:BucketPolicy", "tls", {"bucket": "data-1", "policy": policy},
                         deps=["data"]))
    return found


def test_a_well_made_s3_bucket_passes():
    assert hits(s3_stack(), Settings(labels={"stack": "s", "recipe": "r", "env": "dev", "owner": "o"})) == set()


@pytest.mark.parametrize("stack, expected", [
    (s3_stack(policy=None), "s3-bucket-tls-only"),
    (s3_stack(policy=TLS_POLICY.replace("Deny", "Allow")), "s3-bucket-tls-only"),
    (s3_stack(policy=TLS_POLICY.replace('"false"', '"true"')), "s3-bucket-tls-only"),
    (s3_stack(flags=False), "s3-bucket-private"),
    (s3_stack(acl="public-read"), "s3-bucket-private"),
    (s3_stack(encryption=False), "s3-bucket-encrypted"),
])
def test_each_s3_policy_catches_its_case(stack, expected):
    assert hits(stack) == {(expected, "data")}


def test_an_unknown_bucket_policy_is_not_judged():
    assert hits(s3_stack(policy=UNKNOWN)) == set()


def test_attachments_found_by_bucket_name_without_a_dependency():
    stack = [r if r.name == "data" else Resource(r.type, r.name, r.urn, r.props) for r in s3_stack()]
    assert hits(stack) == set()


def eks(**vpc):
    return res("aws:eks/cluster:Cluster", "eks", {"tags": TAGS, "vpcConfig": {"subnetIds": ["a"], **vpc}})


@pytest.mark.parametrize("vpc, bad", [
    ({"endpointPublicAccess": False, "endpointPrivateAccess": True}, False),
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.7/32"]}, False),
    ({"endpointPublicAccess": True, "publicAccessCidrs": [UNKNOWN]}, False),
    ({"endpointPublicAccess": True}, True),  # AWS's default: 0.0.0.0/0
    ({}, True),  # public is AWS's default too
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["10.0.0.0/8", "0.0.0.0/0"]}, True),
])
def test_eks_endpoint_not_public(vpc, bad):
    assert hits([eks(**vpc)]) == ({("eks-endpoint-not-public", "eks")} if bad else set())


def gke(**props):
    base = {"resourceLabels": LABELS, "removeDefaultNodePool": True,
            "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}]}}
    return res("gcp:container/cluster:Cluster", "gke", {**base, **props})


@pytest.mark.parametrize("props, bad", [
    ({}, False),
    ({"masterAuthorizedNetworksConfig": None, "privateClusterConfig": {"enablePrivateEndpoint": True}}, False),
    ({"masterAuthorizedNetworksConfig": None}, True),
    ({"masterAuthorizedNetworksConfig": {}}, False),  # enabled with no ranges: closed to the outside
    ({"masterAuthorizedNetworksConfig": {"cidrBlocks": []}}, False),
    ({"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]}}, True),
    ({"masterAuthorizedNetworksConfig": {"cidrBlocks": [], "gcpPublicCidrsAccessEnabled": True}}, True),
])
def test_gke_endpoint_restricted(props, bad):
    assert hits([gke(**props)]) == ({("gke-endpoint-restricted", "gke")} if bad else set())


def pool(account):
    config = {"machineType": "e2-standard-4", "resourceLabels": LABELS}
    return res("gcp:container/nodePool:NodePool", "nodes",
               {"nodeConfig": {**config, **({"serviceAccount": account} if account is not None else {})}})


@pytest.mark.parametrize("resource, bad", [
    (pool("nodes@acme.iam.gserviceaccount.com"), False),
    (pool(UNKNOWN), False),
    (pool(None), True),
    (pool("default"), True),
    (pool("123-compute@developer.gserviceaccount.com"), True),
    (gke(removeDefaultNodePool=None), True),  # the default pool stays, on the default account
    (gke(removeDefaultNodePool=None, enableAutopilot=True,
         clusterAutoscaling={"autoProvisioningDefaults": {"serviceAccount": "n@acme.iam.gserviceaccount.com"}}), False),
    (gke(removeDefaultNodePool=None, enableAutopilot=True), True),
])
def test_gke_node_service_account(resource, bad):
    assert hits([resource]) == ({("gke-node-service-account", resource.name)} if bad else set())


def node_stack(template_options, with_template=True):
    group_props = {"tags": TAGS, "nodeRoleArn": "arn:role"}
    found = []
    if with_template:
        found.append(res("aws:ec2/launchTemplate:LaunchTemplate", "lt",
                         {"tags": TAGS, "metadataOptions": template_options}))
        group_props["launchTemplate"] = {"id": "lt-id", "version": "1"}
    found.append(res("aws:eks/nodeGroup:NodeGroup", "nodes", group_props, deps=["lt"] if with_template else []))
    return found


@pytest.mark.parametrize("stack, expected", [
    (node_stack({"httpTokens": "required", "httpPutResponseHopLimit": 1}), set()),
    (node_stack({}, with_template=False), {("eks-node-metadata-hop-limit", "nodes")}),
    (node_stack({"httpTokens": "required", "httpPutResponseHopLimit": 2}), {("eks-node-metadata-hop-limit", "lt")}),
    (node_stack({"httpTokens": "optional", "httpPutResponseHopLimit": 1}), {("eks-node-metadata-hop-limit", "lt")}),
])
def test_node_metadata_hop_limit(stack, expected):
    assert hits(stack) == expected


def role_stack(cluster_deps):
    role = res("aws:iam/role:Role", "role", {"tags": TAGS})
    attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach",
                     {"role": "role", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"},
                     deps=["role"], parent="urn:role")
    middle = res("aws:ec2/securityGroup:SecurityGroup", "sg", {"tags": TAGS}, deps=["attach"])
    cluster = res("aws:eks/cluster:Cluster", "eks", {"tags": TAGS, "roleArn": "arn:role",
                                                     "vpcConfig": {"endpointPublicAccess": False}}, deps=cluster_deps)
    return [role, attachment, middle, cluster]


@pytest.mark.parametrize("deps, bad", [
    (["role", "attach"], False),
    (["role", "sg"], False),  # waits for the attachment through another resource
    (["role"], True),
])
def test_a_role_is_used_only_after_its_policy_attachments(deps, bad):
    assert hits(role_stack(deps)) == ({("iam-role-attachments-first", "eks")} if bad else set())


@pytest.mark.parametrize("resource, bad", [
    (res("aws:eks/cluster:Cluster", "eks", {"tags": PROD_TAGS, "vpcConfig": {"endpointPublicAccess": False},
                                            "enabledClusterLogTypes": ["api", "audit", "authenticator"]}), False),
    (res("aws:eks/cluster:Cluster", "eks", {"tags": PROD_TAGS, "vpcConfig": {"endpointPublicAccess": False},
                                            "enabledClusterLogTypes": ["api"]}), True),
    (res("aws:eks/cluster:Cluster", "eks", {"tags": TAGS, "vpcConfig": {"endpointPublicAccess": False}}), False),
    (gke(resourceLabels={**LABELS, "zenprovision_env": "prod"},
         loggingConfig={"enableComponents": ["SYSTEM_COMPONENTS", "APISERVER"]}), False),
    (gke(resourceLabels={**LABELS, "zenprovision_env": "prod"}), True),
    (gke(resourceLabels={**LABELS, "zenprovision_env": "prod"}, loggingService="none",
         loggingConfig={"enableComponents": ["APISERVER"]}), True),
])
def test_prod_needs_control_plane_logs(resource, bad):
    assert hits([resource]) == ({("prod-control-plane-logs", resource.name)} if bad else set())


def test_env_from_settings_overrides_the_tags():
    cluster = res("aws:eks/cluster:Cluster", "eks", {"tags": TAGS, "vpcConfig": {"endpointPublicAccess": False}})
    assert hits([cluster], Settings(env="prod")) == {("prod-control-plane-logs", "eks")}


@pytest.mark.parametrize("props, bad", [
    ({"uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced"}, False),
    ({"uniformBucketLevelAccess": False, "publicAccessPrevention": "enforced"}, True),
    ({"uniformBucketLevelAccess": True, "publicAccessPrevention": "inherited"}, True),
    ({"uniformBucketLevelAccess": True}, True),
])
def test_gcs_bucket_private(props, bad):
    bucket = res("gcp:storage/bucket:Bucket", "data", {"labels": LABELS, **props})
    assert hits([bucket]) == ({("gcs-bucket-private", "data")} if bad else set())


def test_public_grants():
    member = res("gcp:storage/bucketIAMMember:BucketIAMMember", "m", {"member": "allUsers", "role": "roles/x"})
    private = res("gcp:storage/bucketIAMMember:BucketIAMMember", "p", {"member": "serviceAccount:a@b", "role": "x"})
    assert hits([member, private]) == {("no-public-grants", "m")}


@pytest.mark.parametrize("options, env, bad", [
    ({}, "dev", False),
    ({"protect": True}, "dev", True),
    ({"retain_on_delete": True}, "dev", True),
    ({"retain_on_delete": True}, "prod", False),
    ({"retain_on_delete": None}, "dev", False),  # Pulumi's analyzer cannot tell: not a violation
])
def test_deletable_in_dev_honours_protect_and_retain_on_delete(options, env, bad):
    queue = res("aws:sqs/queue:Queue", "q", {"tags": {**TAGS, "zenprovision:env": env}}, **options)
    assert hits([queue]) == ({("deletable-in-dev", "q")} if bad else set())


@pytest.mark.parametrize("config, env, force, bad", [
    ("auto", "dev", True, False), ("auto", "dev", False, True), ("auto", "prod", True, True),
    ("false", "dev", True, True), ("true", "prod", True, False), (None, "prod", True, False),
])
def test_force_destroy_follows_config(config, env, force, bad):
    bucket = res("gcp:storage/bucket:Bucket", "b", {"labels": {**LABELS, "zenprovision_env": env},
                 "forceDestroy": force, "uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced"})
    assert hits([bucket], Settings(force_destroy=config)) == ({("force-destroy-follows-config", "b")} if bad else set())


@pytest.mark.parametrize("resource, settings, bad", [
    (res("aws:sqs/queue:Queue", "q", {"tags": TAGS}), Settings(), False),
    (res("aws:sqs/queue:Queue", "q", {"tags": {"zenprovision:stack": "s"}}), Settings(), True),
    (res("aws:sqs/queue:Queue", "q", {"tags": TAGS}), Settings(labels={"stack": "other"}), True),
    (res("aws:sqs/queue:Queue", "q", {"tags": UNKNOWN}), Settings(), False),
    (res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {}), Settings(), False),  # not taggable
    (res("gcp:storage/bucket:Bucket", "g", {"labels": {}, "uniformBucketLevelAccess": True,
                                            "publicAccessPrevention": "enforced"}), Settings(), True),
])
def test_zenprovision_labels(resource, settings, bad):
    assert hits([resource], settings) == ({("zenprovision-labels", resource.name)} if bad else set())


def test_every_policy_is_documented_and_named_once():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) >= 14
    assert all(p.description and p.why and p.scope in ("resource", "stack") for p in POLICIES)


@pytest.mark.parametrize("type_", ["aws:sqs/queue:Queue", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                   "gcp:storage/bucket:Bucket"])
def test_resource_inputs_read_from_sdk_source_match_the_classes(type_, monkeypatch):
    from zenprovision.policy import schema

    from_source = schema.parameters.__wrapped__(type_)
    monkeypatch.setattr(schema, "_parameters_from_source", lambda *args: None)
    from_class = schema.parameters.__wrapped__(type_)
    assert from_source == from_class and "resource_name" in from_source


def _role_policy(statement) -> Resource:
    return res("aws:iam/rolePolicy:RolePolicy", "access", {"policy": json.dumps({"Statement": [statement]})})


DEV_ONLY = {"StringEquals": {"aws:ResourceTag/zenprovision:env": "dev"}}


@pytest.mark.parametrize("statement, bad", [
    ({"Effect": "Allow", "Action": ["eks:DeleteCluster", "eks:DescribeCluster"], "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": ["*"]}, True),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": ["eks:DeleteCluster"], "Resource": "*", "Condition": DEV_ONLY}, False),
    ({"Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": "arn:aws:s3:::b/*"}, False),
    ({"Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": "*"}, False),
    ({"Effect": "Deny", "Action": ["eks:DeleteCluster"], "Resource": "*"}, False),
])
def test_iam_deletes_scoped(statement, bad):
    assert hits([_role_policy(statement)]) == ({("iam-deletes-scoped", "access")} if bad else set())


def test_iam_deletes_scoped_skips_a_policy_known_only_after_apply():
    assert hits([res("aws:iam/rolePolicy:RolePolicy", "access", {"policy": UNKNOWN})]) == set()


@pytest.mark.parametrize("props, bad", [
    ({"role": "roles/storage.objectAdmin", "member": "serviceAccount:a@p.iam.gserviceaccount.com"}, True),
    ({"role": "roles/storage.admin", "condition": {"title": "t", "expression": ""}}, True),
    ({"role": "roles/resourcemanager.projectIamAdmin"}, True),
    ({"role": "roles/storage.admin", "condition": {"title": "t", "expression": 'resource.name.startsWith("x")'}},
     False),
    ({"role": "roles/container.admin"}, False),
    ({"role": "roles/storage.admin", "condition": UNKNOWN}, False),
])
def test_gcp_project_grants_scoped(props, bad):
    grant = res("gcp:projects/iAMMember:IAMMember", "grant", {"project": "p", **props})
    assert hits([grant]) == ({("gcp-project-grants-scoped", "grant")} if bad else set())
