"""The teardown schedule of aws-k8s and gcp-k8s under Pulumi mocks: the CronJob, its identity, its limits."""

import json

import pytest

from tests.provision_argv import parse_provision
from zenprovision.errors import InputError, OperationFailed
from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import resolve
from zenprovision.testing import run_under_mocks
from zenprovision.testing.conformance import check_recipe

HOME_AWS, HOME_GCP = "s3://team-home/zp/shared", "gs://team-home/zp/shared"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
SUBJECT = "system:serviceaccount:zenprovision-teardown:zenprovision-teardown"


def record(name, env="shared", **config):
    recipe = Catalog().get(name)
    values = resolve(recipe.config, {**recipe.test_config, **config}, recipe.name)
    return run_under_mocks(recipe.path, values, {"stack": "ops", "recipe": name, "env": env, "owner": "platform"})


@pytest.fixture(scope="module")
def aws():
    return record("aws-k8s", teardown_home=HOME_AWS, teardown_schedule="*/30 * * * *")


@pytest.fixture(scope="module")
def gcp():
    return record("gcp-k8s", teardown_home=HOME_GCP, teardown_projects="acme-dev,acme-ml")


def job_spec(stack):
    cronjob = stack.one("kubernetes:batch/v1:CronJob")
    return cronjob, cronjob.inputs["spec"]["jobTemplate"]["spec"]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_the_cronjob_runs_teardown_of_expired_dev_stacks_never_twice_at_once(cloud, request):
    stack = request.getfixturevalue(cloud)
    cronjob, job = job_spec(stack)
    spec = cronjob.inputs["spec"]
    assert spec["schedule"] == ("*/30 * * * *" if cloud == "aws" else "0 * * * *")
    assert (spec["concurrencyPolicy"], spec["startingDeadlineSeconds"], spec["timeZone"]) == ("Forbid", 600, "Etc/UTC")
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (1, 7200)
    assert cronjob.inputs["metadata"]["namespace"] == "zenprovision-teardown"
    (container,) = job["template"]["spec"]["containers"]
    assert parse_provision(container["args"]) == ("teardown", {
        "env": "dev", "expired": True, "yes": True, "owner": None, "older_than": None, "dry_run": False,
        "parallel": 4, "as_json": False})
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["ZENPROVISION_HOME"] == (HOME_AWS if cloud == "aws" else HOME_GCP)
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == "/var/run/secrets/zenprovision/passphrase"
    assert "PULUMI_CONFIG_PASSPHRASE" not in env  # the passphrase is a mounted Secret, never a value


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_the_pod_is_hardened(cloud, request):
    stack = request.getfixturevalue(cloud)
    _, job = job_spec(stack)
    pod = job["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"], pod["restartPolicy"]) == (
        "zenprovision-teardown", False, "Never")
    (container,) = pod["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "privileged": False, "runAsNonRoot": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "1Gi"},
                                      "limits": {"cpu": "2", "memory": "4Gi"}}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["scratch"]["mountPath"] == "/tmp" and volumes["scratch"]["emptyDir"] == {"sizeLimit": "4Gi"}
    assert mounts["passphrase"]["readOnly"] is True
    assert volumes["passphrase"]["secret"] == {"secretName": "pulumi-passphrase", "optional": False,
                                               "defaultMode": 0o400,
                                               "items": [{"key": "passphrase", "path": "passphrase"}]}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["HOME"].startswith("/tmp/") and env["PULUMI_HOME"].startswith("/tmp/")  # the only writable place
    namespace = stack.one("kubernetes:core/v1:Namespace", "teardown-namespace").inputs["metadata"]
    assert namespace["name"] == "zenprovision-teardown"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policy = stack.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "teardown-no-ingress").inputs
    assert policy["metadata"]["namespace"] == "zenprovision-teardown"
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}  # no ingress rule: nothing gets in


def test_the_default_image_lives_in_the_stacks_registry(aws, gcp):
    from zenprovision import __version__

    image = job_spec(aws)[1]["template"]["spec"]["containers"][0]["image"]
    assert image == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/zp-ops-pipelines:zenprovision-teardown-{__version__}"
    image = job_spec(gcp)[1]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(f"/teardown:zenprovision-{__version__}")


# ---- AWS: an IRSA role --------------------------------------------------------------------------

def test_aws_irsa_role_is_assumable_only_by_the_teardown_service_account(aws):
    role = aws.one("aws:iam/role:Role", "teardown-role")
    assert role.inputs["name"] == "zp-ops-teardown"
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement == [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                          "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"},
                          "Condition": {"StringEquals": {f"{ISSUER}:sub": SUBJECT,
                                                         f"{ISSUER}:aud": "sts.amazonaws.com"}}}]
    account = aws.one("kubernetes:core/v1:ServiceAccount", "teardown-service-account").inputs
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/teardown-role"}
    assert account["metadata"]["namespace"] == "zenprovision-teardown" and account["automountServiceAccountToken"] is False


def test_aws_policy_reaches_only_the_home_prefix_and_dev_tagged_resources(aws):
    policy = json.loads(aws.one("aws:iam/rolePolicy:RolePolicy", "teardown-access").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["HomeList"] == {"Sid": "HomeList", "Effect": "Allow", "Action": "s3:ListBucket",
                                      "Resource": "arn:aws:s3:::team-home",
                                      "Condition": {"StringLike": {"s3:prefix": ["zp/shared", "zp/shared/*"]}}}
    assert statements["HomeObjects"]["Action"] == ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    assert statements["HomeObjects"]["Resource"] == "arn:aws:s3:::team-home/zp/shared/*"
    assert statements["DeleteDevStacks"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/zenprovision:env": "dev"}}
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert statement["Effect"] == "Allow" and not [a for a in actions if "*" in a]
        assert not [a for a in actions if a.split(":")[1].startswith(("Tag", "Untag", "Create", "Attach", "Pass"))]
        assert not [a for a in actions if ":Put" in a and not a.startswith("s3:")]
        if statement["Resource"] == "*" and statement["Sid"] != "DeleteDevStacks":
            assert all(":Describe" in a for a in actions), statement["Sid"]  # unscoped means read-only
    buckets = statements["DeleteRecipeBuckets"]["Resource"]
    assert buckets == ["arn:aws:s3:::zp-*", "arn:aws:s3:::zp-*/*"]  # S3 has no tag conditions without ABAC


def test_aws_dev_stack_deletes_cover_what_the_recipe_creates(aws):
    """Every service the dev stack's resources live in gets its delete action under the dev condition."""
    policy = json.loads(aws.one("aws:iam/rolePolicy:RolePolicy", "teardown-access").inputs["policy"])
    tagged = {s["Sid"]: s for s in policy["Statement"]}["DeleteDevStacks"]["Action"]
    for action in ("eks:DeleteCluster", "eks:DeleteNodegroup", "eks:DeleteAddon", "ec2:DeleteVpc", "ec2:DeleteSubnet",
                   "ec2:DeleteNatGateway", "ec2:ReleaseAddress", "iam:DeleteRole", "iam:DeleteOpenIDConnectProvider",
                   "ecr:DeleteRepository", "logs:DeleteLogGroup", "kms:ScheduleKeyDeletion"):
        assert action in tagged, action


# ---- GCP: a Workload Identity service account ----------------------------------------------------

def test_gcp_account_is_bound_to_the_teardown_service_account_by_workload_identity(gcp):
    account = gcp.one("gcp:serviceaccount/account:Account", "teardown-account")
    assert account.inputs["accountId"] == "zp-ops-teardown"
    binding = gcp.one("gcp:serviceaccount/iAMMember:IAMMember", "teardown-workload-identity")
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert binding.inputs["member"] == "serviceAccount:acme-ml.svc.id.goog[zenprovision-teardown/zenprovision-teardown]"
    assert binding.inputs["serviceAccountId"] == "projects/acme-ml/serviceAccounts/zp-ops-teardown@acme-ml.iam.gserviceaccount.com"
    assert gcp.one("gcp:container/cluster:Cluster").urn in binding.dependencies  # the pool exists only then
    annotations = gcp.one("kubernetes:core/v1:ServiceAccount", "teardown-service-account").inputs["metadata"]["annotations"]
    assert annotations == {"iam.gke.io/gcp-service-account": "zp-ops-teardown@acme-ml.iam.gserviceaccount.com"}


def test_gcp_home_access_is_a_bucket_member_conditioned_to_the_prefix(gcp):
    member = gcp.one("gcp:storage/bucketIAMMember:BucketIAMMember", "teardown-home").inputs
    assert (member["bucket"], member["role"]) == ("team-home", "roles/storage.objectAdmin")
    assert member["member"] == "serviceAccount:zp-ops-teardown@acme-ml.iam.gserviceaccount.com"
    assert member["condition"]["expression"] == (
        'resource.type == "storage.googleapis.com/Bucket" || '
        'resource.name.startsWith("projects/_/buckets/team-home/objects/zp/shared/")')


def test_gcp_project_roles_in_each_listed_project_and_conditioned_where_gcp_can(gcp):
    members = [r.inputs for r in gcp.of_type("gcp:projects/iAMMember:IAMMember")
               if r.inputs["member"].startswith("serviceAccount:zp-ops-teardown@")]
    by_project = {}
    for member in members:
        by_project.setdefault(member["project"], {})[member["role"]] = member.get("condition")
    assert set(by_project) == {"acme-dev", "acme-ml"}
    for roles in by_project.values():
        assert roles == {
            "roles/container.admin": None, "roles/compute.networkAdmin": None, "roles/compute.securityAdmin": None,
            "roles/artifactregistry.admin": None, "roles/iam.serviceAccountAdmin": None,
            "roles/storage.admin": {"title": "zenprovision recipe buckets",
                                    "expression": 'resource.name.startsWith("projects/_/buckets/zp-")'},
            "roles/resourcemanager.projectIamAdmin": {
                "title": "only the recipes' node roles",
                "expression": "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', [])"
                              ".hasOnly(['roles/artifactregistry.reader', 'roles/container.defaultNodeServiceAccount'])"},
        }
    assert not [m for m in members if m["role"] in ("roles/owner", "roles/editor", "roles/storage.objectAdmin")]


# ---- off by default, refused where it would harm -------------------------------------------------

def test_a_dev_stack_cannot_host_the_schedule():
    with pytest.raises(OperationFailed, match="cannot run on one"):
        record("aws-k8s", env="dev", teardown_home=HOME_AWS)


def test_an_empty_schedule_with_a_home_is_refused():
    with pytest.raises(OperationFailed, match="teardown_schedule is empty"):
        record("gcp-k8s", teardown_home=HOME_GCP, teardown_schedule="")


@pytest.mark.parametrize("name, key, value, message", [
    ("aws-k8s", "teardown_home", HOME_GCP, "must be an S3 URL"),
    ("aws-k8s", "teardown_home", "team-home/zp", "must be an S3 URL"),
    ("aws-k8s", "teardown_home", "s3://Team_Home/zp", "must be an S3 URL"),
    ("gcp-k8s", "teardown_home", HOME_AWS, "must be a GCS URL"),
    ("aws-k8s", "teardown_schedule", "61 * * * *", "must be a cron schedule"),
    ("gcp-k8s", "teardown_schedule", "0 * * *", "must be a cron schedule"),
    ("gcp-k8s", "teardown_schedule", "@reboot", "must be a cron schedule"),
])
def test_bad_values_fail_config_validation_with_exit_2(name, key, value, message):
    recipe = Catalog().get(name)
    with pytest.raises(InputError, match=message) as caught:
        resolve(recipe.config, {**recipe.test_config, key: value}, recipe.name)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("name, home", [("aws-k8s", HOME_AWS), ("gcp-k8s", HOME_GCP)])
def test_recipes_conform_with_the_schedule_on(name, home, monkeypatch):
    """Every recipe rule and policy of the pack, with the schedule on, on a shared and a prod host."""
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    report = check_recipe(Catalog().get(name), {"teardown_home": home}, environments=("shared", "prod"))
    assert report.ok, report.describe()


@pytest.mark.parametrize("name, args", [
    ("aws-k8s", ["-c", f"teardown_home={HOME_AWS}"]),
    ("gcp-k8s", ["-c", "project=acme-ml", "-c", f"teardown_home={HOME_GCP}"]),
])
def test_the_offline_plan_shows_the_schedule(home, cli, name, args):
    result = cli("plan", name, "--stack", "ops", "--env", "shared", "--offline", "--json", *args)
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    created = {(c["type"], c["name"]) for c in plan["changes"] if c["op"] == "create"}
    assert ("kubernetes:batch/v1:CronJob", "teardown-cronjob") in created
    assert plan["policy"] == []  # the pack finds nothing wrong with it


def test_the_cli_refuses_a_bad_home_in_one_line_with_exit_2(home, cli):
    result = cli("plan", "aws-k8s", "--stack", "ops", "--offline", "-c", f"teardown_home={HOME_GCP}")
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "must be an S3 URL such as s3://bucket/prefix" in result.err
    assert not (home / "stacks").exists() and not (home / "state").exists()
