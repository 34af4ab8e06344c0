"""The conformance suite: every built-in recipe passes; each rule catches its broken case."""

import textwrap

import pytest

from zenprovision.recipes.catalog import Catalog
from zenprovision.testing.conformance import check_recipe, check_recipe_folder

ENCRYPTION = """
aws.s3.BucketServerSideEncryptionConfiguration("sse", bucket=bucket.id,
    rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
"""
TLS_ONLY = """
aws.s3.BucketPolicy("tls", bucket=bucket.id, policy=bucket.arn.apply(lambda arn: json.dumps({"Statement": [
    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, arn + "/*"],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})))
"""
GOOD_BUCKET = """
labels = StackLabels.from_config()
bucket = aws.s3.Bucket("data", force_destroy=labels.is_dev, tags=labels.aws_tags())
aws.s3.BucketPublicAccessBlock("block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                               ignore_public_acls=True, restrict_public_buckets=True)
""" + ENCRYPTION + TLS_ONLY
EXPORT = """
pulumi.export("stack", {"artifact_store": {"flavor": "s3", "config": {"bucket": bucket.bucket}},
                        "orchestrator": {"flavor": "kubernetes", "config": {}},
                        "model_server": {"flavor": "kserve", "config": {}}})
"""


def make_recipe(tmp_path, body, export=EXPORT):
    folder = tmp_path / "probe"
    folder.mkdir(parents=True)
    (folder / "Pulumi.yaml").write_text(textwrap.dedent("""
        name: probe
        runtime: {name: python}
        description: probe
        config:
          force_destroy: {type: string, default: auto, description: who may delete data}
    """))
    (folder / "recipe.yaml").write_text(
        "cloud: aws\nengine: pulumi\ncomponents: {artifact_store: s3, orchestrator: kubernetes, model_server: kserve}\n")
    program = "import json\nimport pulumi\nimport pulumi_aws as aws\nfrom zenprovision.blocks.labels import StackLabels\n"
    (folder / "__main__.py").write_text(program + textwrap.dedent(body) + textwrap.dedent(export))
    return folder


def rules_hit(report):
    return {(v.rule, v.resource.split(" ")[0]) for v in report.violations}


@pytest.mark.parametrize("name", ["local", "aws-k8s", "gcp-k8s"])
def test_builtin_recipes_conform(name, monkeypatch):
    """Every recipe rule and every policy of the pack, over each built-in recipe in env dev and prod."""
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    report = check_recipe(Catalog().get(name))
    assert report.ok, report.describe()


def test_a_well_made_probe_passes(tmp_path):
    report = check_recipe_folder(make_recipe(tmp_path, GOOD_BUCKET))
    assert report.ok, report.describe()


@pytest.mark.parametrize("change, expected", [
    (("tags=labels.aws_tags())", "tags={'zenprovision:stack': 'x'})"), ("zenprovision-labels", "data")),
    (("block_public_policy=True", "block_public_policy=False"), ("s3-bucket-private", "data")),
    ((ENCRYPTION, ""), ("s3-bucket-encrypted", "data")),
    ((TLS_ONLY, ""), ("s3-bucket-tls-only", "data")),
    (("force_destroy=labels.is_dev", "force_destroy=True"), ("force-destroy-follows-config", "data")),
    (("tags=labels.aws_tags())", "tags=labels.aws_tags(), opts=pulumi.ResourceOptions(protect=True))"),
     ("deletable-in-dev", "data")),
    (("tags=labels.aws_tags())", "tags=labels.aws_tags(), opts=pulumi.ResourceOptions(retain_on_delete=True))"),
     ("deletable-in-dev", "data")),
])
def test_each_rule_catches_its_case(tmp_path, change, expected):
    body = GOOD_BUCKET.replace(*change)
    assert body != GOOD_BUCKET
    report = check_recipe_folder(make_recipe(tmp_path, body))
    assert expected in rules_hit(report), report.describe()


def test_plaintext_secret_output_is_caught_and_secret_outputs_are_not(tmp_path):
    body = GOOD_BUCKET + textwrap.dedent("""
        pulumi.export("admin", {"password": "hunter22"})
        pulumi.export("key", "AKIAABCDEFGHIJKLMNOP")
        pulumi.export("kubeconfig", pulumi.Output.secret("token: abc"))
    """)
    report = check_recipe_folder(make_recipe(tmp_path, body))
    hit = {v.resource for v in report.violations if v.rule == "no-plaintext-secrets"}
    assert hit == {"output admin", "output key"}, report.describe()


def test_stack_output_must_match_recipe_yaml(tmp_path):
    export = EXPORT.replace('"flavor": "kserve"', '"flavor": "seldon"')
    report = check_recipe_folder(make_recipe(tmp_path, GOOD_BUCKET, export))
    assert ("stack-output", "stack.model_server") in rules_hit(report), report.describe()
    missing = check_recipe_folder(make_recipe(tmp_path / "x", GOOD_BUCKET, export=""))
    assert any(v.rule == "stack-output" for v in missing.violations)
