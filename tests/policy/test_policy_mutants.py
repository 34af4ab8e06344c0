"""Each policy flags exactly the violating resource, under its rule name, with the message that says what to
change, and passes the compliant shape the recipes plan (the edges mutation testing found untested)."""

from __future__ import annotations

import json

import pytest
from pulumi.output import Unknown  # the embedded engine's offline plan: a value known only after apply

from zenprovision.policy import Resource, Settings, evaluate

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
KEYS = ("stack", "recipe", "env", "owner")
LABELS = {"stack": "dev", "recipe": "aws-k8s", "env": "dev", "owner": "alice"}
TAGS = {f"zenprovision:{k}": v for k, v in LABELS.items()}
PROD_TAGS = {**TAGS, "zenprovision:env": "prod"}
GCP_LABELS = {f"zenprovision_{k}": v for k, v in LABELS.items()}
PROD_LABELS = {**GCP_LABELS, "zenprovision_env": "prod"}



def res(type_, name, props=None, deps=(), parent="", **options) -> Resource:
    return Resource(type_, name, f"urn:{name}", dict(props or {}), dependencies=tuple(f"urn:{d}" for d in deps),
                    parent=parent, **options)


def found(resources, settings=None) -> set[tuple[str, str, str]]:
    """(policy, resource name, message) of every finding."""
    return {(f.policy, f.resource.split(" ")[0], f.message) for f in evaluate(resources, settings)}


# --- common: the zenprovision labels -------------------------------------------------------------------------

QUEUE = "aws:sqs/queue:Queue"
GCS = "gcp:storage/bucket:Bucket"
PRIVATE_GCS = {"uniformBucketLevelAccess": True, "publicAccessPrevention": "enforced"}


def test_every_wrong_tag_is_named_in_one_message():
    queue = res(QUEUE, "q", {"tags": {**TAGS, "zenprovision:owner": "", "zenprovision:recipe": "gcp-k8s"}})
    assert found([queue], Settings(labels=LABELS)) == {
        ("zenprovision-labels", "q", "missing or wrong tags zenprovision:owner, zenprovision:recipe")}


def test_without_expected_values_any_non_empty_tag_passes():
    queue = res(QUEUE, "q", {"tags": {**TAGS, "zenprovision:owner": "bob"}})
    assert found([queue], Settings(labels={"stack": "dev"})) == set()
    assert found([queue], Settings(labels={"owner": "alice"})) == {
        ("zenprovision-labels", "q", "missing or wrong tags zenprovision:owner")}


def test_tags_that_are_not_a_mapping_count_as_missing():
    queue = res(QUEUE, "q", {"tags": ["zenprovision:stack"]})
    assert found([queue]) == {("zenprovision-labels", "q", "missing or wrong tags " + ", ".join(
        sorted(f"zenprovision:{k}" for k in KEYS)))}


def test_a_tag_value_known_only_after_apply_is_not_judged():
    queue = res(QUEUE, "q", {"tags": {**TAGS, "zenprovision:stack": UNKNOWN}})
    assert found([queue], Settings(labels={**LABELS, "stack": "other"})) == set()


def test_gcp_labels_are_compared_in_their_label_form():
    labels = {**LABELS, "owner": "Alice.Smith@acme.com"}
    bucket = res(GCS, "b", {"labels": {**GCP_LABELS, "zenprovision_owner": "alice_smith_acme_com"}, **PRIVATE_GCS})
    assert found([bucket], Settings(labels=labels)) == set()
    wrong = res(GCS, "b", {"labels": {**GCP_LABELS, "zenprovision_owner": "Alice.Smith@acme.com"}, **PRIVATE_GCS})
    assert found([wrong], Settings(labels=labels)) == {
        ("zenprovision-labels", "b", "missing or wrong labels zenprovision_owner")}


def test_gcp_labels_without_expected_values_need_only_be_present():
    bucket = res(GCS, "b", {"labels": {**GCP_LABELS, "zenprovision_owner": "anyone"}, **PRIVATE_GCS})
    assert found([bucket], Settings(labels={"stack": "dev"})) == set()
    assert found([res(GCS, "b", {"labels": {"zenprovision_stack": "dev"}, **PRIVATE_GCS})]) == {
        ("zenprovision-labels", "b", "missing or wrong labels zenprovision_env, zenprovision_owner, "
                                     "zenprovision_recipe")}


def test_a_gke_cluster_carries_its_labels_as_resource_labels():
    cluster = res("gcp:container/cluster:Cluster", "gke", {
        "labels": GCP_LABELS, "removeDefaultNodePool": True, "masterAuthorizedNetworksConfig": {}})
    assert found([cluster]) == {("zenprovision-labels", "gke", "missing or wrong resourceLabels zenprovision_env, "
                                 "zenprovision_owner, zenprovision_recipe, zenprovision_stack")}


def test_labels_known_only_after_apply_are_not_judged():
    assert found([res(GCS, "b", {"labels": UNKNOWN, **PRIVATE_GCS})]) == set()


# --- common: deletable in dev, force_destroy, public grants ---------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"protect": True}, "protect=True in env dev: teardown could not delete it"),
    ({"retain_on_delete": True}, "retain_on_delete=True in env dev: teardown would leave it running"),
])
def test_deletable_in_dev_says_which_option_blocks_teardown(options, message):
    assert found([res(QUEUE, "q", {"tags": TAGS}, **options)]) == {("deletable-in-dev", "q", message)}


def test_deletable_in_dev_reports_both_options_and_ignores_prod():
    both = res(QUEUE, "q", {"tags": TAGS}, protect=True, retain_on_delete=True)
    assert {m for _, _, m in found([both])} == {"protect=True in env dev: teardown could not delete it",
                                                "retain_on_delete=True in env dev: teardown would leave it running"}
    assert found([res(QUEUE, "q", {"tags": PROD_TAGS}, protect=True)]) == set()
    assert found([res(QUEUE, "q", {"tags": PROD_TAGS}, protect=True)], Settings(env="dev")) == {
        ("deletable-in-dev", "q", "protect=True in env dev: teardown could not delete it")}


def s3_bucket(env_tags=TAGS, **props) -> Resource:
    return res("aws:s3/bucket:Bucket", "data", {"tags": env_tags, "bucket": "zp-artifacts-1", **props})


def s3_extras(name="zp-artifacts-1", deps=("data",)) -> list[Resource]:
    """The access block, encryption and TLS-only policy the aws-k8s recipe attaches to its bucket."""
    flags = {f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}
    return [
        res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "block", {"bucket": name, **flags}, deps=deps),
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "sse",
            {"bucket": name, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
            deps=deps),
        res("aws:s3/bucketPolicy:BucketPolicy", "tls", {"bucket": name, "policy": TLS}, deps=deps),
    ]


TLS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::zp-artifacts-1", "arn:aws:s3:::zp-artifacts-1/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


@pytest.mark.parametrize("config, env_tags, force, wants", [
    ("auto", TAGS, False, True),
    ("AUTO", PROD_TAGS, True, False),  # the config's case does not matter
    ("True", PROD_TAGS, False, True),
    ("false", TAGS, True, False),
])
def test_force_destroy_message_names_the_config_and_what_it_wants(config, env_tags, force, wants):
    stack = [s3_bucket(env_tags, forceDestroy=force), *s3_extras()]
    assert found(stack, Settings(force_destroy=config)) == {
        ("force-destroy-follows-config", "data",
         f"forceDestroy is {force}, config force_destroy={config} wants {wants}")}


def test_force_destroy_follows_auto_and_true_when_it_matches():
    assert found([s3_bucket(forceDestroy=True), *s3_extras()], Settings(force_destroy="Auto")) == set()
    assert found([s3_bucket(PROD_TAGS, forceDestroy=True), *s3_extras()], Settings(force_destroy="TRUE")) == set()
    assert found([s3_bucket(PROD_TAGS), *s3_extras()], Settings(force_destroy="auto")) == set()  # absent: off


def test_force_destroy_known_only_after_apply_is_not_judged():
    assert found([s3_bucket(forceDestroy=UNKNOWN), *s3_extras()], Settings(force_destroy="false")) == set()


@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers"])
def test_a_public_grant_names_the_member(member):
    grant = res("gcp:storage/bucketIAMMember:BucketIAMMember", "m", {"bucket": "b", "member": member,
                                                                     "role": "roles/storage.objectViewer"})
    assert found([grant]) == {("no-public-grants", "m", f"grants access to {member}")}


def test_a_policy_with_both_public_members_and_unknown_values_is_reported_once_each():
    binding = res("gcp:storage/bucketIAMBinding:BucketIAMBinding", "bind", {
        "bucket": Unknown(), "role": "roles/storage.objectViewer", "members": ["allUsers", "allAuthenticatedUsers"]})
    assert found([binding]) == {("no-public-grants", "bind", "grants access to allUsers"),
                                ("no-public-grants", "bind", "grants access to allAuthenticatedUsers")}


# --- aws: S3 ------------------------------------------------------------------------------------------------

def test_the_recipe_bucket_passes_and_its_attachments_are_found_by_id_too():
    assert found([s3_bucket(forceDestroy=True), *s3_extras()], Settings(labels=LABELS, force_destroy="auto")) == set()
    by_id = res("aws:s3/bucket:Bucket", "data", {"tags": TAGS, "id": "zp-artifacts-1"})
    assert found([by_id, *s3_extras(deps=())]) == set()


PRIVATE = ("s3-bucket-private", "data", "no public access block with all four flags on")


@pytest.mark.parametrize("off", ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
def test_each_public_access_flag_is_required(off):
    stack = [s3_bucket(), *s3_extras()]
    stack[1] = res(stack[1].type, "block", {**stack[1].props, off: False}, deps=["data"])
    assert found(stack) == {PRIVATE}


def test_one_complete_access_block_is_enough():
    partial = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "partial",
                  {"bucket": "zp-artifacts-1", "blockPublicAcls": True}, deps=["data"])
    assert found([s3_bucket(), partial, *s3_extras()]) == set()
    assert found([s3_bucket(), partial, *s3_extras()[1:]]) == {PRIVATE}


@pytest.mark.parametrize("acl, public", [("public-read", True), ("public-read-write", True), ("private", False),
                                         ("authenticated-read", False)])
def test_a_public_acl_is_named(acl, public):
    expected = {("s3-bucket-private", "data", f"acl {acl!r} is public")} if public else set()
    assert found([s3_bucket(acl=acl), *s3_extras()]) == expected


def test_an_access_block_of_another_bucket_does_not_count():
    other = s3_bucket()
    stack = [res(other.type, "data", {**other.props, "bucket": "zp-other"}), *s3_extras(deps=())]
    assert {(p, m) for p, _, m in found(stack)} == {
        PRIVATE[::2], ("s3-bucket-encrypted", "no server-side encryption configuration"),
        ("s3-bucket-tls-only", "no bucket policy denies requests without TLS (aws:SecureTransport false)")}


def test_inline_encryption_on_the_bucket_counts():
    inline = {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}}
    stack = [s3_bucket(serverSideEncryptionConfiguration=inline), *s3_extras()]
    del stack[2]
    assert found(stack) == set()
    del stack[0].props["serverSideEncryptionConfiguration"]
    assert found(stack) == {("s3-bucket-encrypted", "data", "no server-side encryption configuration")}


TLS_ONLY = ("s3-bucket-tls-only", "data", "no bucket policy denies requests without TLS (aws:SecureTransport false)")


def with_policy(policy) -> list[Resource]:
    stack = [s3_bucket(), *s3_extras()]
    stack[3] = res(stack[3].type, "tls", {"bucket": "zp-artifacts-1", "policy": policy}, deps=["data"])
    return stack


@pytest.mark.parametrize("policy, ok", [
    (json.loads(TLS), True),  # a document, not yet JSON text
    ({"Statement": json.loads(TLS)["Statement"][0]}, True),  # one statement, not a list
    ({"Statement": [{"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": False}}}]}, True),
    ({"Statement": [{"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "False"}}}]}, True),
    ({"Statement": ["Deny", {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}, True),
    ("{not json", False),
    ({"Statement": [{"Effect": "Deny", "Condition": None}]}, False),
    ({"Statement": [{"Effect": "Deny", "Condition": {"Bool": None}}]}, False),
    ({"Statement": [{"Effect": "Deny", "Condition": {"Null": {"aws:SecureTransport": "false"}}}]}, False),
    ({"Statement": [{"Effect": "Deny", "Condition": {"Bool": {"aws:SourceIp": "false"}}}]}, False),
    ({"Statement": [{"Effect": "Deny", "Condition": ["aws:SecureTransport"]}]}, False),
    (["Deny"], False),
])
def test_tls_only_reads_every_shape_of_bucket_policy(policy, ok):
    assert found(with_policy(policy)) == (set() if ok else {TLS_ONLY})


def test_a_bucket_with_an_unknown_policy_does_not_hide_the_next_bucket():
    unknown = [s3_bucket(), *with_policy(UNKNOWN)[1:]]
    other = res("aws:s3/bucket:Bucket", "other", {"tags": TAGS, "bucket": "zp-other"})
    others = [res(r.type, f"other-{r.name}", {**r.props, "bucket": "zp-other"}) for r in s3_extras("zp-other", ())]
    assert found([*unknown, other, *others[:2]]) == {
        ("s3-bucket-tls-only", "other", "no bucket policy denies requests without TLS (aws:SecureTransport false)")}


def test_one_tls_policy_among_several_is_enough_and_an_unknown_one_is_not_judged():
    extra = res("aws:s3/bucketPolicy:BucketPolicy", "other", {"bucket": "zp-artifacts-1", "policy": "{}"},
                deps=["data"])
    assert found([*with_policy(TLS), extra]) == set()
    assert found([*with_policy("{}"), extra]) == {TLS_ONLY}
    assert found([*with_policy(UNKNOWN), extra]) == set()


# --- aws: EKS -----------------------------------------------------------------------------------------------

EKS = "aws:eks/cluster:Cluster"
OPEN = "the API endpoint is public to 0.0.0.0/0: set public_access_cidrs or turn public access off"


@pytest.mark.parametrize("vpc, bad", [
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["::/0"]}, True),
    ({"endpointPublicAccess": True, "publicAccessCidrs": []}, True),
    ({"endpointPublicAccess": UNKNOWN}, False),
    ({"endpointPublicAccess": True, "publicAccessCidrs": UNKNOWN}, False),
    ({"endpointPublicAccess": True, "publicAccessCidrs": Unknown()}, False),
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.7/32", "203.0.113.0/24"]}, False),
])
def test_eks_endpoint_message_says_what_to_change(vpc, bad):
    cluster = res(EKS, "eks", {"tags": TAGS, "vpcConfig": {"subnetIds": ["a"], "endpointPrivateAccess": True, **vpc}})
    assert found([cluster]) == ({("eks-endpoint-not-public", "eks", OPEN)} if bad else set())


def test_an_eks_cluster_without_vpc_config_is_public_and_one_known_only_after_apply_is_not_judged():
    assert found([res(EKS, "eks", {"tags": TAGS, "vpcConfig": None})]) == {("eks-endpoint-not-public", "eks", OPEN)}
    assert found([res(EKS, "eks", {"tags": TAGS, "vpcConfig": Unknown()})]) == set()
    assert found([res(EKS, "eks", {"tags": TAGS, "vpcConfig": UNKNOWN})]) == set()


PRIVATE_VPC = {"endpointPublicAccess": False}


@pytest.mark.parametrize("logs, missing", [
    (["api", "audit", "authenticator"], ""),
    (["audit", "authenticator", "scheduler"], "api"),
    (["api"], "audit, authenticator"),
    (None, "api, audit, authenticator"),
    (UNKNOWN, ""),
])
def test_prod_eks_names_the_missing_log_types(logs, missing):
    cluster = res(EKS, "eks", {"tags": PROD_TAGS, "vpcConfig": PRIVATE_VPC, "enabledClusterLogTypes": logs})
    expected = {("prod-control-plane-logs", "eks",
                 f"env prod without control-plane logs {missing} (enabled_cluster_log_types)")}
    assert found([cluster]) == (expected if missing else set())


def test_staging_is_not_prod():
    cluster = res(EKS, "eks", {"tags": {**TAGS, "zenprovision:env": "staging"}, "vpcConfig": PRIVATE_VPC})
    assert found([cluster]) == set()


GKE = "gcp:container/cluster:Cluster"


def gke(labels=PROD_LABELS, **props) -> Resource:
    base = {"resourceLabels": labels, "removeDefaultNodePool": True, "masterAuthorizedNetworksConfig": {
        "gcpPublicCidrsAccessEnabled": False, "cidrBlocks": [{"cidrBlock": "203.0.113.0/24", "displayName": "x"}]},
        "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": False},
        "loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"]}}
    return res(GKE, "gke", {**base, **props})


@pytest.mark.parametrize("props, message", [
    ({}, None),
    ({"loggingService": "none"}, "env prod with logging_service none"),
    ({"loggingService": "none", "loggingConfig": None}, "env prod with logging_service none"),
    ({"loggingService": "logging.googleapis.com/kubernetes"}, None),
    ({"loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS"]}},
     "env prod without control-plane logs: logging_config.enable_components lacks APISERVER"),
    ({"loggingConfig": None}, "env prod without control-plane logs: logging_config.enable_components lacks APISERVER"),
    ({"loggingConfig": {"enableComponents": UNKNOWN}}, None),
])
def test_prod_gke_logs(props, message):
    assert found([gke(**props)]) == ({("prod-control-plane-logs", "gke", message)} if message else set())


def test_dev_gke_needs_no_control_plane_logs():
    assert found([gke(GCP_LABELS, loggingConfig=None)]) == set()


# --- aws: node metadata ---------------------------------------------------------------------------------------

NODE_GROUP, TEMPLATE = "aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate"
IMDS = {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
NO_TEMPLATE = "no launch template: the metadata hop limit stays 2, so pods can take the node role"
HOPS = "http_put_response_hop_limit is {}, must be 1 so pods cannot reach node credentials"
TOKENS = "http_tokens must be 'required' (IMDSv2 only)"


def template(name="lt", options=IMDS, props=None) -> Resource:
    return res(TEMPLATE, name, {"tags": TAGS, "metadataOptions": options, **(props or {})})


def group(name="nodes", ref=None, deps=()) -> Resource:
    return res(NODE_GROUP, name, {"tags": TAGS, **({"launchTemplate": ref} if ref is not None else {})}, deps=deps)


def test_a_bad_template_gets_both_messages():
    stack = [template(options={"httpTokens": "optional", "httpPutResponseHopLimit": 2}),
             group(ref={"id": UNKNOWN, "version": UNKNOWN}, deps=["lt"])]
    assert found(stack) == {("eks-node-metadata-hop-limit", "lt", HOPS.format(2)),
                            ("eks-node-metadata-hop-limit", "lt", TOKENS)}


def test_unknown_metadata_options_are_not_judged():
    stack = [template(options={"httpTokens": UNKNOWN, "httpPutResponseHopLimit": UNKNOWN}),
             group(ref={"id": UNKNOWN}, deps=["lt"])]
    assert found(stack) == set()
    assert found([template(options=None), group(ref={"id": UNKNOWN}, deps=["lt"])]) == {
        ("eks-node-metadata-hop-limit", "lt", HOPS.format(None)), ("eks-node-metadata-hop-limit", "lt", TOKENS)}


@pytest.mark.parametrize("ref", [{"id": "lt-0abc"}, {"name": "zp-nodes"}, {"id": UNKNOWN, "name": "zp-nodes"}])
def test_the_template_is_found_by_id_or_name_without_a_dependency(ref):
    bad = template("bad", {**IMDS, "httpPutResponseHopLimit": 2}, {"id": "lt-0bad", "name": "zp-bad"})
    good = template("good", props={"id": "lt-0abc", "name": "zp-nodes"})
    assert found([bad, good, group(ref=ref)]) == set()


def test_the_group_is_judged_by_its_own_template_not_the_first_one():
    good, bad = template("good", props={"id": "lt-good"}), template("bad", {**IMDS, "httpTokens": "optional"})
    assert found([good, bad, group(ref={"id": UNKNOWN}, deps=["bad"])]) == {
        ("eks-node-metadata-hop-limit", "bad", TOKENS)}


def test_a_template_reference_known_only_after_apply_finds_the_template_it_depends_on():
    stack = [template(options={**IMDS, "httpPutResponseHopLimit": 2}), group(ref=Unknown(), deps=["lt"])]
    assert found(stack) == {("eks-node-metadata-hop-limit", "lt", HOPS.format(2))}


def test_a_dependency_on_a_template_is_not_using_it():
    assert found([template(), group(deps=["lt"])]) == {("eks-node-metadata-hop-limit", "nodes", NO_TEMPLATE)}
    assert found([template(props={"id": "lt-1"}), group(ref={"id": "lt-2"})]) == {
        ("eks-node-metadata-hop-limit", "nodes", NO_TEMPLATE)}


def test_every_node_group_is_checked():
    stack = [group("first"), template(options={**IMDS, "httpPutResponseHopLimit": 2}),
             group("second", ref={"id": UNKNOWN}, deps=["lt"])]
    assert found(stack) == {("eks-node-metadata-hop-limit", "first", NO_TEMPLATE),
                            ("eks-node-metadata-hop-limit", "lt", HOPS.format(2))}


# --- aws: role attachments ------------------------------------------------------------------------------------

ROLE, ATTACHMENT = "aws:iam/role:Role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def attachment(name, role="role", by_parent=False) -> Resource:
    props = {"role": role, "policyArn": f"arn:aws:iam::aws:policy/{name}"}
    if by_parent:
        return res(ATTACHMENT, name, props, parent=f"urn:{role}")
    return res(ATTACHMENT, name, props, deps=[role])


def role(name="role", arn="arn:aws:iam::123456789012:role/zp-eks") -> Resource:
    return res(ROLE, name, {"tags": TAGS, "arn": arn, "name": f"zp-{name}"})


def cluster(deps=(), **props) -> Resource:
    return res(EKS, "eks", {"tags": TAGS, "vpcConfig": PRIVATE_VPC, **props}, deps=deps)


def test_the_message_names_the_role_and_every_missing_attachment_sorted():
    stack = [role(), attachment("B-Policy", by_parent=True), attachment("A-Policy"), attachment("C-Policy"),
             cluster(deps=["role", "C-Policy"])]
    assert found(stack) == {("iam-role-attachments-first", "eks",
                             "uses role role before its policy attachments exist: add depends_on for A-Policy, "
                             "B-Policy")}


@pytest.mark.parametrize("props", [{"roleArn": "arn:aws:iam::123456789012:role/zp-eks"}, {"roleArn": "zp-role"}])
def test_the_role_is_found_by_arn_or_name_without_a_dependency(props):
    assert {p for p, _, _ in found([role(), attachment("A"), cluster(**props)])} == {"iam-role-attachments-first"}


def test_a_node_group_finds_its_role_by_node_role_arn():
    nodes = res(NODE_GROUP, "nodes", {"tags": TAGS, "nodeRoleArn": "arn:aws:iam::123456789012:role/zp-eks",
                                      "launchTemplate": {"id": "lt-1"}})
    stack = [role(), attachment("Worker"), template(props={"id": "lt-1"}), nodes]
    assert found(stack) == {("iam-role-attachments-first", "nodes",
                             "uses role role before its policy attachments exist: add depends_on for Worker")}


def test_attachments_of_another_role_do_not_count_and_a_user_without_a_role_is_skipped():
    stack = [role(), role("other", arn="arn:other"), attachment("Other", role="other"),
             res(EKS, "first", {"tags": TAGS, "vpcConfig": PRIVATE_VPC, "roleArn": "arn:missing"}),
             cluster(deps=["role"]),
             res(EKS, "late", {"tags": TAGS, "vpcConfig": PRIVATE_VPC, "roleArn": "arn:other"})]
    assert found(stack) == {("iam-role-attachments-first", "late",
                             "uses role other before its policy attachments exist: add depends_on for Other")}


# --- aws: IAM deletes -----------------------------------------------------------------------------------------

WIDE = ("allows {} on every resource without a condition: name the resources or add an aws:ResourceTag "
        "condition (e.g. zenprovision:env dev)")


def iam(statements, type_="aws:iam/policy:Policy") -> Resource:
    return res(type_, "access", {"tags": TAGS, "policy": json.dumps({"Version": "2012-10-17",
                                                                      "Statement": statements})})


@pytest.mark.parametrize("actions, wide", [
    (["s3:DeleteObject", "ec2:TerminateInstances", "s3:GetObject"], "ec2:TerminateInstances, s3:DeleteObject"),
    (["kms:ScheduleKeyDeletion"], "kms:ScheduleKeyDeletion"),
    (["ec2:ReleaseAddress", "ec2:DetachVolume", "ec2:DisassociateAddress"],
     "ec2:DetachVolume, ec2:DisassociateAddress, ec2:ReleaseAddress"),
    (["*"], "*"),
    (["ec2:*"], "ec2:*"),
    (["ec2:DescribeInstances", "eks:ListClusters", "iam:CreateRole"], None),
])
def test_iam_deletes_names_every_wide_action_sorted(actions, wide):
    resource = iam([{"Effect": "Allow", "Action": actions, "Resource": "*"}])
    assert found([resource]) == ({("iam-deletes-scoped", "access", WIDE.format(wide))} if wide else set())


def test_every_statement_is_checked_after_a_deny_or_a_conditioned_one():
    statements = [{"Effect": "Deny", "Action": "*", "Resource": "*"},
                  {"Effect": "Allow", "Action": "ec2:DeleteVpc", "Resource": "*",
                   "Condition": {"StringEquals": {"aws:ResourceTag/zenprovision:env": "dev"}}},
                  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
                  {"Effect": "Allow", "Action": "eks:DeleteCluster", "Resource": "*"}]
    assert found([iam(statements, "aws:iam/rolePolicy:RolePolicy")]) == {
        ("iam-deletes-scoped", "access", WIDE.format("eks:DeleteCluster"))}


def test_a_delete_on_named_resources_and_an_unreadable_document_pass():
    named = iam([{"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": ["arn:aws:s3:::b/*", "arn:x"]}])
    assert found([named]) == set()
    assert found([res("aws:iam/policy:Policy", "access", {"tags": TAGS, "policy": "{not json"})]) == set()


# --- gcp ------------------------------------------------------------------------------------------------------

def test_a_gcs_bucket_names_each_missing_protection():
    bucket = res(GCS, "b", {"labels": GCP_LABELS, "uniformBucketLevelAccess": "true"})
    assert found([bucket]) == {("gcs-bucket-private", "b", "uniform bucket-level access is off"),
                               ("gcs-bucket-private", "b", "public access prevention is not enforced")}


NO_NETWORKS = "public endpoint without master authorized networks: anyone can reach the API server"


@pytest.mark.parametrize("props, messages", [
    ({"privateClusterConfig": {"enablePrivateEndpoint": True}, "masterAuthorizedNetworksConfig": None}, set()),
    ({"privateClusterConfig": {"enablePrivateEndpoint": "true"}, "masterAuthorizedNetworksConfig": None},
     {NO_NETWORKS}),
    ({"privateClusterConfig": None, "masterAuthorizedNetworksConfig": UNKNOWN}, set()),
    ({"masterAuthorizedNetworksConfig": []}, {NO_NETWORKS}),
    ({"masterAuthorizedNetworksConfig": {"cidrBlocks": UNKNOWN}}, set()),
    ({"masterAuthorizedNetworksConfig": {"cidrBlocks": Unknown()}}, set()),
    ({"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}, {"cidrBlock": "::/0"}]}},
     {"master authorized networks include 0.0.0.0/0"}),
    ({"masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}],
                                         "gcpPublicCidrsAccessEnabled": True}},
     {"master authorized networks include 0.0.0.0/0",
      "master authorized networks admit every Google Cloud public address"}),
    ({"masterAuthorizedNetworksConfig": {"gcpPublicCidrsAccessEnabled": "true"}}, set()),
])
def test_gke_endpoint_messages(props, messages):
    assert found([gke(GCP_LABELS, **props)]) == {("gke-endpoint-restricted", "gke", m) for m in messages}


DEFAULT_SA = "nodes run as the Compute Engine default service account (project Editor): give them their own"
NODES_SA = "zp-nodes@acme.iam.gserviceaccount.com"


@pytest.mark.parametrize("props, bad", [
    ({"removeDefaultNodePool": True, "nodeConfig": {"serviceAccount": "default"}}, False),  # pools judged alone
    ({"removeDefaultNodePool": None, "nodeConfig": {"serviceAccount": NODES_SA}}, False),
    ({"removeDefaultNodePool": "true", "nodeConfig": {"serviceAccount": NODES_SA}}, False),
    ({"removeDefaultNodePool": "true"}, True),
    ({"removeDefaultNodePool": None, "nodeConfig": {"machineType": "e2-standard-4"}}, True),
    ({"removeDefaultNodePool": None, "nodeConfig": {"serviceAccount": UNKNOWN}}, False),
    ({"removeDefaultNodePool": True, "enableAutopilot": True}, True),
    ({"removeDefaultNodePool": None, "enableAutopilot": "true", "nodeConfig": {"serviceAccount": NODES_SA},
      "clusterAutoscaling": {"autoProvisioningDefaults": {"serviceAccount": "default"}}}, False),
    ({"removeDefaultNodePool": None, "enableAutopilot": True, "nodeConfig": {"serviceAccount": NODES_SA},
      "clusterAutoscaling": {"autoProvisioningDefaults": {"serviceAccount": "default"}}}, True),
    ({"removeDefaultNodePool": None, "enableAutopilot": True,
      "clusterAutoscaling": {"autoProvisioningDefaults": {"serviceAccount": UNKNOWN}}}, False),
])
def test_gke_cluster_node_accounts(props, bad):
    assert found([gke(GCP_LABELS, **props)]) == ({("gke-node-service-account", "gke", DEFAULT_SA)} if bad else set())


@pytest.mark.parametrize("account, bad", [
    ("123456789-compute@developer.gserviceaccount.com", True),
    ("compute@developer.gserviceaccount.com.evil", False),
    ("", True),
    (NODES_SA, False),
])
def test_a_node_pool_names_the_default_account(account, bad):
    nodes = res("gcp:container/nodePool:NodePool", "pool", {"cluster": "gke", "nodeConfig": {
        "machineType": "e2-standard-4", "resourceLabels": GCP_LABELS, "serviceAccount": account}})
    assert found([nodes]) == ({("gke-node-service-account", "pool", DEFAULT_SA)} if bad else set())


@pytest.mark.parametrize("type_, role, condition, message", [
    ("gcp:projects/iAMBinding:IAMBinding", "roles/storage.objectViewer", None,
     "roles/storage.objectViewer granted project-wide without a condition: grant it on the bucket "
     "(a bucket IAM member)"),
    ("gcp:projects/iAMMember:IAMMember", "roles/iam.securityAdmin", {"title": "t"},
     "roles/iam.securityAdmin granted project-wide without a condition: grant it with a condition"),
    ("gcp:projects/iAMMember:IAMMember", "roles/resourcemanager.projectIamAdmin", "x",
     "roles/resourcemanager.projectIamAdmin granted project-wide without a condition: grant it with a condition"),
    ("gcp:projects/iAMMember:IAMMember", "roles/iam.securityAdmin",
     {"title": "t", "expression": "request.time < timestamp('2027-01-01T00:00:00Z')"}, None),
    ("gcp:projects/iAMMember:IAMMember", "roles/iam.securityReviewer", None, None),
    ("gcp:projects/iAMMember:IAMMember", UNKNOWN, None, None),
])
def test_project_grant_message_says_where_to_grant(type_, role, condition, message):
    grant = res(type_, "grant", {"project": "p", "role": role, "member": f"serviceAccount:{NODES_SA}",
                                 **({"condition": condition} if condition is not None else {})})
    assert found([grant]) == ({("gcp-project-grants-scoped", "grant", message)} if message else set())
