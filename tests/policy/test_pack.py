"""The policy pack as Pulumi runs it: the pulumi-policy wrappers, and the pack folder served over gRPC."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.policy import PolicyCustomTimeouts
from pulumi_policy.proxy import unknown_checking_proxy

from zenprovision.policy import PACK_NAME, POLICIES, pack_path, pulumi_policy_packs
from zenprovision.policy.pulumi_pack import to_pulumi

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
BY_NAME = {p.name: p for p in POLICIES}
TAGS = {f"zenprovision:{k}": "x" for k in ("stack", "recipe", "env", "owner")}


def options(protect=False):
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def validate_resource(policy_name, type_, props):
    reported = []
    args = ResourceValidationArgs(type_, unknown_checking_proxy(props), f"urn:{type_}", "r", options(), None)
    to_pulumi(BY_NAME[policy_name]).validate(args, lambda message, urn=None: reported.append(message))
    return reported


def test_a_resource_policy_reports_through_pulumi_policy():
    open_world = validate_resource("eks-endpoint-not-public", "aws:eks/cluster:Cluster",
                                   {"vpcConfig": {"endpointPublicAccess": True}})
    assert len(open_world) == 1 and "0.0.0.0/0" in open_world[0]
    assert validate_resource("eks-endpoint-not-public", "aws:eks/cluster:Cluster",
                             {"vpcConfig": {"endpointPublicAccess": False}}) == []
    # a value a preview cannot know is skipped, not judged and not an error
    assert validate_resource("eks-endpoint-not-public", "aws:eks/cluster:Cluster",
                             {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": UNKNOWN}}) == []
    # a policy for another type stays silent
    assert validate_resource("eks-endpoint-not-public", "aws:s3/bucket:Bucket", {}) == []


def test_a_stack_policy_sees_dependencies_through_pulumi_policy():
    def resource(type_, name, props, deps=()):
        return PolicyResource(type_, unknown_checking_proxy(props), f"urn:{name}", name, options(), None, None,
                              list(deps), {})

    role = resource("aws:iam/role:Role", "role", {})
    attachment = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", {"role": "role"}, [role])
    early = resource("aws:eks/cluster:Cluster", "early", {"roleArn": UNKNOWN}, [role])
    late = resource("aws:eks/cluster:Cluster", "late", {"roleArn": UNKNOWN}, [role, attachment])
    reported = []
    policy = to_pulumi(BY_NAME["iam-role-attachments-first"])
    policy.validate(StackValidationArgs([role, attachment, early, late]), lambda m, urn=None: reported.append(urn))
    assert reported == ["urn:early"]


def test_the_pack_folder_is_what_the_pulumi_cli_loads():
    folder = pack_path()
    project = yaml.safe_load((folder / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == "python" and project["version"]
    assert "pulumi-policy" in (folder / "requirements.txt").read_text()
    assert pulumi_policy_packs() == [str(folder)]


@pytest.fixture
def analyzer():
    """The pack's ``__main__.py`` started the way Pulumi's analyzer plugin starts it: it prints its port."""
    proc = subprocess.Popen([sys.executable, "-u", "__main__.py"], cwd=pack_path(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.poll() is not None else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        proc.kill()
        proc.wait()


def struct(props) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def test_the_served_pack_lists_every_policy_and_enforces_them(analyzer):
    info = analyzer.GetAnalyzerInfo(analyzer_pb2.google_dot_protobuf_dot_empty__pb2.Empty(), timeout=30)
    assert info.name == PACK_NAME
    assert {p.name for p in info.policies} == set(BY_NAME)

    cluster = analyzer_pb2.AnalyzeRequest(type="aws:eks/cluster:Cluster", name="eks", urn="urn:eks",
                                          properties=struct({"vpcConfig": {"endpointPublicAccess": True}, "tags": TAGS}))
    found = analyzer.Analyze(cluster, timeout=30).diagnostics
    assert [(d.policyName, d.enforcementLevel) for d in found] == [("eks-endpoint-not-public", analyzer_pb2.MANDATORY)]

    bucket = analyzer_pb2.AnalyzerResource(type="aws:s3/bucket:Bucket", name="data", urn="urn:data",
                                           properties=struct({"bucket": "data-1"}))
    found = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[bucket]), timeout=30).diagnostics
    assert {d.policyName for d in found} == {"s3-bucket-private", "s3-bucket-encrypted", "s3-bucket-tls-only"}
    assert {d.urn for d in found} == {"urn:data"}


def test_the_cli_prints_the_pack_folder_and_lists_its_policies(home, cli):
    assert cli("policy-pack").out.strip() == str(pack_path())
    listed = cli("policy-pack", "--list").out.splitlines()
    assert [line.split()[0] for line in listed] == list(BY_NAME)
