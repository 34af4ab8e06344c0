"""``provision sweep``: orphans are listed, and deleted only on request; nothing else is touched.

Runs against the session's real moto server. Each test works in an AWS account of its own
(moto keys its data by the account of the credentials, which ``sts.assume_role`` hands
out), so tests see neither each other's resources nor those of other test modules.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from zenprovision.cli import cli
from zenprovision.errors import ZenProvisionError
from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig
from zenprovision.stacks.registry import StackRecord, save
from zenprovision.sweep.candidates import is_orphan, pick
from zenprovision.sweep.model import FoundResource, kind_of

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def tags(stack: str | None, **extra: str) -> dict[str, str]:
    found = {"zenprovision:stack": stack} if stack else {}
    return found | {"zenprovision:recipe": "aws-k8s", "zenprovision:env": "dev"} | extra


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in values.items()]


@dataclass
class Account:
    """A fresh moto account: its id, a boto3 session with its credentials, the endpoint."""

    id: str
    session: object
    endpoint: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def client(self, service: str, region: str = "us-east-1"):
        return self.session.client(service, region_name=region, endpoint_url=self.endpoint)


@pytest.fixture
def account(moto_server, home, monkeypatch) -> Account:
    """Credentials of a new account in the environment, where the sweep reads them."""
    import boto3

    account_id = f"{uuid.uuid4().int % 10**12:012d}"
    sts = boto3.client("sts", endpoint_url=moto_server, region_name="us-east-1")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/sweep-test",
                                  RoleSessionName="sweep-test")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    monkeypatch.setenv("ZENPROVISION_AWS_ENDPOINT_URL", moto_server)
    monkeypatch.delenv("AWS_REGION", raising=False)
    session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"], region_name="us-east-1")
    return Account(account_id, session, moto_server)


def make_bucket(account: Account, name: str, stack: str | None, region: str = "us-east-1", **extra) -> str:
    s3 = account.client("s3", region)
    options = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **options, **extra)
    if stack:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags(stack))})
    return f"arn:aws:s3:::{name}"


def make_versioned_bucket(account: Account, name: str, stack: str) -> str:
    """Several versions of one key, another object and a delete marker."""
    arn = make_bucket(account, name, stack)
    s3 = account.client("s3")
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket=name, Key="model.pkl", Body=body)
    s3.put_object(Bucket=name, Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket=name, Key="gone.txt")
    return arn


def make_repository(account: Account, name: str, stack: str | None) -> str:
    return account.client("ecr").create_repository(
        repositoryName=name, tags=tag_list(tags(stack)))["repository"]["repositoryArn"]


def make_role(account: Account, name: str, stack: str | None) -> str:
    return account.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST,
                                             Tags=tag_list(tags(stack)))["Role"]["Arn"]


def make_cluster(account: Account, name: str, stack: str | None, role_arn: str) -> str:
    return account.client("eks").create_cluster(
        name=name, roleArn=role_arn, resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]},
        tags=tags(stack))["cluster"]["arn"]


def make_nodegroup(account: Account, cluster: str, name: str, stack: str | None, role_arn: str) -> str:
    return account.client("eks").create_nodegroup(
        clusterName=cluster, nodegroupName=name, subnets=["subnet-1"], nodeRole=role_arn,
        tags=tags(stack))["nodegroup"]["nodegroupArn"]


@dataclass
class World:
    account: Account
    ghost: dict[str, str]  # arn -> type: what the sweep must find and delete
    names: dict[str, str]  # key -> name, to check each resource with boto3


def save_config_only(name: str) -> None:
    """A stack known by its config file alone, as an imported or hand-written stack is."""
    store.save(StackConfig(name=name, recipe="aws-k8s", engine="pulumi", created_at=datetime.now(timezone.utc),
                           components={"artifact_store": {"flavor": "s3", "config": {"bucket": f"zp-{name}"}},
                                       "orchestrator": {"flavor": "kubernetes", "config": {}},
                                       "model_server": {"flavor": "kserve", "config": {}}}))


@pytest.fixture
def world(account: Account) -> World:
    """Orphans of stack "ghost"; resources of "alive" (registered) and "known" (only a
    stack config, no registry record), and untagged ones."""
    s, iam = account.suffix, account.client("iam")
    save(StackRecord(name="alive", recipe="aws-k8s", engine="pulumi", status="active",
                     created_at=datetime.now(timezone.utc)))
    save_config_only("known")
    names = {"bucket": f"zp-ghost-{s}", "repo": f"ghost-repo-{s}", "role": f"ghost-role-{s}",
             "cluster": f"ghost-{s}", "nodegroup": f"ghost-ng-{s}", "profile": f"ghost-profile-{s}"}
    role = make_role(account, names["role"], "ghost")
    policy = iam.create_policy(PolicyName=f"ghost-policy-{s}", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=names["role"], PolicyArn=policy)
    iam.put_role_policy(RoleName=names["role"], PolicyName="inline", PolicyDocument=POLICY)
    iam.create_instance_profile(InstanceProfileName=names["profile"])
    iam.add_role_to_instance_profile(InstanceProfileName=names["profile"], RoleName=names["role"])
    cluster = make_cluster(account, names["cluster"], "ghost", role)
    vpc = account.client("ec2").create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": tag_list(tags("ghost"))}])["Vpc"]["VpcId"]
    ghost = {
        make_versioned_bucket(account, names["bucket"], "ghost"): "s3:bucket",
        make_repository(account, names["repo"], "ghost"): "ecr:repository",
        role: "iam:role",
        cluster: "eks:cluster",
        make_nodegroup(account, names["cluster"], names["nodegroup"], "ghost", role): "eks:nodegroup",
        f"arn:aws:ec2:us-east-1:{account.id}:vpc/{vpc}": "ec2:vpc",
    }
    for stack, prefix in (("alive", "alive"), ("known", "known"), (None, "plain")):
        names[f"{prefix}-bucket"] = f"zp-{prefix}-{s}"
        make_bucket(account, names[f"{prefix}-bucket"], stack)
        names[f"{prefix}-repo"] = make_repository(account, f"{prefix}-repo-{s}", stack).split("/", 1)[1]
        names[f"{prefix}-role"] = make_role(account, f"{prefix}-role-{s}", stack).rsplit("/", 1)[1]
    return World(account, ghost, names)


def sweep(*args: str) -> SimpleNamespace:
    """Run the command in-process; a zenprovision error gives its exit code, as the CLI does."""
    # through the group, as a user does: a command invoked alone keeps a help option without -h
    result = CliRunner().invoke(cli, ["sweep", "--cloud", "aws", *args])
    error = result.exception
    if error is not None and not isinstance(error, (ZenProvisionError, SystemExit)):
        raise error
    code = error.exit_code if isinstance(error, ZenProvisionError) else result.exit_code
    message = f"Error: {error}" if isinstance(error, ZenProvisionError) else ""
    return SimpleNamespace(code=code, out=result.stdout, err=result.stderr + message)


def exists(call, **kwargs) -> bool:
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
        return True
    except ClientError:
        return False


def everything_of(world: World) -> dict[str, bool]:
    """Which of the world's resources still exist, by key."""
    a, n = world.account, world.names
    s3, ecr, iam, eks = a.client("s3"), a.client("ecr"), a.client("iam"), a.client("eks")
    prefixes = ("", "alive-", "known-", "plain-")
    found = {f"{p}bucket": exists(s3.head_bucket, Bucket=n[f"{p}bucket"]) for p in prefixes}
    found |= {f"{p}repo": exists(ecr.describe_repositories, repositoryNames=[n[f"{p}repo"]]) for p in prefixes}
    found |= {f"{p}role": exists(iam.get_role, RoleName=n[f"{p}role"]) for p in prefixes}
    found["cluster"] = exists(eks.describe_cluster, name=n["cluster"])
    found["nodegroup"] = exists(eks.describe_nodegroup, clusterName=n["cluster"],
                                nodegroupName=n["nodegroup"])
    return found


@pytest.mark.slow
def test_dry_run_lists_exactly_the_orphans_and_changes_nothing(world):
    before = everything_of(world)
    versions = world.account.client("s3").list_object_versions(Bucket=world.names["bucket"])

    result = sweep("--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert {row["arn"]: row["type"] for row in rows} == world.ghost
    assert {row["stack"] for row in rows} == {"ghost"}
    assert all(row["tags"]["zenprovision:stack"] == "ghost" for row in rows)
    regions = {row["type"]: row["region"] for row in rows}
    assert regions["iam:role"] == "global" and regions["s3:bucket"] == regions["eks:cluster"] == "us-east-1"
    assert "kept: alive, known" in result.err  # a stack config alone makes a stack known

    table = sweep()
    assert table.code == 0, table.err
    assert table.out.count("ghost ") == 1  # grouped: the stack's name heads its group once
    assert all(arn in table.out and kind in table.out for arn, kind in world.ghost.items())
    assert "alive" not in table.out and "known" not in table.out and "Dry run" in table.err

    assert everything_of(world) == before and all(before.values())
    after = world.account.client("s3").list_object_versions(Bucket=world.names["bucket"])
    assert len(after["Versions"]) == len(versions["Versions"]) == 4 and len(after["DeleteMarkers"]) == 1


@pytest.mark.slow
def test_delete_removes_the_orphans_and_nothing_else(world):
    result = sweep("--delete", "--yes", "--json")
    assert result.code == 0, result.err
    rows = {row["arn"]: row for row in json.loads(result.out)}
    assert set(rows) == set(world.ghost)
    vpc = next(arn for arn, kind in world.ghost.items() if kind == "ec2:vpc")
    left = rows.pop(vpc)
    assert left["result"] == "left" and left["reason"] == "the sweep cannot delete ec2:vpc resources"
    assert {row["result"] for row in rows.values()} == {"deleted"}

    state = everything_of(world)
    assert not any(state[key] for key in ("bucket", "repo", "role", "cluster", "nodegroup")), state
    untouched = [f"{p}-{kind}" for p in ("alive", "known", "plain") for kind in ("bucket", "repo", "role")]
    assert all(state[key] for key in untouched), state
    iam = world.account.client("iam")
    profile = iam.get_instance_profile(InstanceProfileName=world.names["profile"])["InstanceProfile"]
    assert profile["Roles"] == []  # the role was taken out of the profile; the profile is not ours to delete
    assert world.account.client("ec2").describe_vpcs(VpcIds=[vpc.rsplit("/", 1)[1]])["Vpcs"]

    again = sweep("--json")
    assert json.loads(again.out) == [{"stack": "ghost", "type": "ec2:vpc", "arn": vpc, "region": "us-east-1",
                                      "tags": tags("ghost")}]


@pytest.mark.slow
def test_a_failed_deletion_is_reported_with_its_reason_and_exits_1(account):
    s = account.suffix
    locked = f"zp-locked-{s}"
    s3 = account.client("s3")
    make_bucket(account, locked, "ghost", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    s3.put_object(Bucket=locked, Key="model.pkl", Body=b"kept by law")
    role = make_role(account, f"ghost-role-{s}", "ghost")
    cluster = make_cluster(account, f"ghost-{s}", "ghost", role)  # its node group is untagged: never ours
    make_nodegroup(account, f"ghost-{s}", f"untagged-{s}", None, role)
    repo = make_repository(account, f"ghost-repo-{s}", "ghost")

    result = sweep("--delete", "--yes", "--json")
    assert result.code == 1, result.err
    assert "2 resource(s) could not be deleted" in result.err
    rows = {row["arn"]: row for row in json.loads(result.out)}
    assert rows[f"arn:aws:s3:::{locked}"]["result"] == "left"
    assert "AccessDenied" in rows[f"arn:aws:s3:::{locked}"]["reason"]
    assert "object lock" in rows[f"arn:aws:s3:::{locked}"]["reason"]
    assert rows[cluster]["result"] == "left" and "ResourceInUseException" in rows[cluster]["reason"]
    assert rows[repo]["result"] == rows[role]["result"] == "deleted"
    eks = account.client("eks")
    assert eks.describe_nodegroup(clusterName=f"ghost-{s}", nodegroupName=f"untagged-{s}")["nodegroup"]
    assert s3.head_bucket(Bucket=locked)


@pytest.mark.slow
def test_delete_without_yes_and_without_a_terminal_refuses(world):
    before = everything_of(world)
    result = sweep("--delete")
    assert result.code == 2 and "no terminal" in result.err and "--yes" in result.err
    assert everything_of(world) == before


def test_only_aws_is_supported():
    result = sweep("--cloud", "gcp")  # the last --cloud wins
    assert result.code == 2 and "only aws is supported" in result.err


@pytest.mark.slow
def test_regions_limit_what_is_swept(account):
    eu = make_bucket(account, f"zp-ghost-eu-{account.suffix}", "ghost", region="eu-west-1")
    us = make_bucket(account, f"zp-ghost-us-{account.suffix}", "ghost")
    assert [row["arn"] for row in json.loads(sweep("--json").out)] == [us]
    rows = json.loads(sweep("--json", "--region", "eu-west-1").out)
    assert [(row["arn"], row["region"]) for row in rows] == [(eu, "eu-west-1")]
    assert sweep("--region", "mars").code == 2


@pytest.mark.slow
def test_unreachable_endpoint_and_missing_credentials_are_one_clear_line(account, monkeypatch):
    secret = account.session.get_credentials().secret_key
    result = sweep("--endpoint-url", "http://127.0.0.1:9")
    assert result.code == 1 and "cannot reach http://127.0.0.1:9" in result.err
    assert secret not in result.err + result.out
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    result = sweep()
    assert result.code == 2 and "no AWS credentials found" in result.err and "AWS_ACCESS_KEY_ID" in result.err


def found(stack: str, tagged: dict[str, str], kind: str = "s3:bucket", arn: str = "") -> FoundResource:
    """What a finder reports: the stack it read, and the tags the resource really has."""
    return FoundResource(stack=stack, type=kind, arn=arn or f"arn:aws:s3:::{stack}-{len(tagged)}",
                         region="us-east-1", name=stack, tags=tagged)


def test_candidates_never_include_untagged_or_registered_resources():
    orphan = found("ghost", {"zenprovision:stack": "ghost"})
    alive = found("alive", {"zenprovision:stack": "alive"})
    untagged = found("ghost", {})
    candidates = pick([untagged, alive, orphan], {"alive"})
    assert candidates.orphans == (orphan,) and candidates.kept == (alive,)
    assert candidates.registered == frozenset({"alive"})


@pytest.mark.parametrize("reported, tagged", [
    ("ghost", "other"),  # neither stack is registered: only the tag check stands in the way
    ("alive", "ghost"),  # the finder names a registered stack, the tag an unknown one
    ("ghost", "alive"),
])
def test_a_resource_whose_tag_names_another_stack_is_never_an_orphan(reported, tagged):
    """A finder bug (a stack read from the wrong tag) must not make anything deletable."""
    mislabelled = found(reported, {"zenprovision:stack": tagged, "x": "y"})
    assert not is_orphan(mislabelled, {"alive"})
    candidates = pick([mislabelled], {"alive"})
    assert candidates.orphans == () and candidates.kept == ()


def test_an_orphan_is_judged_by_its_exact_stack_name():
    registered = {"alive", "dev"}
    assert is_orphan(found("ghost", {"zenprovision:stack": "ghost"}), registered)
    assert is_orphan(found("dev-2", {"zenprovision:stack": "dev-2"}), registered)  # not a prefix match
    assert is_orphan(found("dev", {"zenprovision:stack": "dev"}), set())
    assert not is_orphan(found("dev", {"zenprovision:stack": "dev"}), registered)
    assert not is_orphan(found("dev", {"zenprovision:recipe": "aws-k8s"}), set())  # no stack tag


def test_candidates_are_sorted_by_stack_type_and_arn():
    def of(stack: str, kind: str, arn: str) -> FoundResource:
        return found(stack, {"zenprovision:stack": stack}, kind, arn)

    listed = [of("b", "s3:bucket", "arn:2"), of("b", "ecr:repository", "arn:9"), of("a", "s3:bucket", "arn:5"),
              of("b", "s3:bucket", "arn:1"), of("k", "s3:bucket", "arn:4"), of("j", "iam:role", "arn:3"),
              of("j", "ecr:repository", "arn:8")]
    candidates = pick(listed, {"j", "k"})
    assert [(r.stack, r.type, r.arn) for r in candidates.orphans] == [
        ("a", "s3:bucket", "arn:5"), ("b", "ecr:repository", "arn:9"), ("b", "s3:bucket", "arn:1"),
        ("b", "s3:bucket", "arn:2")]
    assert [(r.stack, r.type) for r in candidates.kept] == [("j", "ecr:repository"), ("j", "iam:role"),
                                                           ("k", "s3:bucket")]


def test_a_stack_known_only_by_its_config_file_is_not_swept(home):
    from zenprovision.stacks.registry import registered_names

    save_config_only("imported")
    assert "imported" in registered_names()
    resource = found("imported", {"zenprovision:stack": "imported"})
    assert pick([resource], registered_names()).orphans == ()


@pytest.mark.parametrize("arn, expected", [
    ("arn:aws:s3:::zp-dev-artifacts", ("s3:bucket", "zp-dev-artifacts")),
    ("arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1", ("ec2:vpc", "vpc-1")),
    ("arn:aws:logs:us-east-1:123456789012:log-group:/zp/x", ("logs:log-group", "/zp/x")),
    ("arn:aws:sqs:us-east-1:123456789012:queue", ("sqs", "queue")),
    ("not-an-arn", ("unknown", "not-an-arn")),
])
def test_kind_of_an_arn(arn, expected):
    assert kind_of(arn) == expected


@pytest.mark.slow
def test_a_stack_registered_after_the_listing_is_spared(world):
    """Deletion reads the registry again: a stack registered since the listing loses nothing."""
    from zenprovision.stacks.registry import registered_names
    from zenprovision.sweep import aws_delete, aws_find, aws_session

    target = aws_session.connect((), world.account.endpoint)
    candidates = pick(aws_find.find_tagged(target).resources, registered_names())
    assert {r.arn for r in candidates.orphans} == set(world.ghost)
    report = aws_delete.delete_all(target, candidates, registered_now={"alive", "known", "ghost"})
    assert report.deleted == [] and report.failed == []
    assert {item.reason for item in report.left} == {"stack 'ghost' is registered now"}
    assert all(everything_of(world).values())


@pytest.mark.slow
def test_the_real_cli(world, cli):
    """Through ``python -m zenprovision``: ``sweep`` is a registered command."""
    assert " sweep " in cli("--help").out
    result = cli("sweep", "--cloud", "aws", "--json")
    assert result.code == 0, result.err
    assert {row["arn"] for row in json.loads(result.out)} == set(world.ghost)
    refused = cli("sweep", "--cloud", "aws", "--delete", input="")
    assert refused.code == 2 and "no terminal" in refused.err and "Traceback" not in refused.err
    gcp = cli("sweep", "--cloud", "gcp")
    assert gcp.code == 2 and "only aws is supported" in gcp.err
