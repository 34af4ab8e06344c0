"""The conformance rules: what every recipe must do, each a function over a ProgramRecord.

Each rule returns violations naming the resource and the rule, so a failing recipe gets a
report its author can act on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from zenprovision.blocks.labels import KEYS, gcp_label_value
from zenprovision.recipes.recipe import Recipe
from zenprovision.stacks.config import Components
from zenprovision.stacks.secrets import assert_no_plaintext_secret
from zenprovision.testing.program import ProgramRecord, RecordedResource
from zenprovision.testing.schema import is_taggable, label_field


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


@dataclass(frozen=True)
class Context:
    recipe: Recipe
    record: ProgramRecord
    labels: dict[str, str]
    config: dict[str, Any]


Rule = Callable[[Context], list[Violation]]


def config_schema(ctx: Context) -> list[Violation]:
    found = []
    for key in ctx.recipe.config.values():
        if not key.description.strip():
            found.append(Violation("config-schema", key.name, "has no description"))
    return found


def stack_output(ctx: Context) -> list[Violation]:
    stack = ctx.record.exports.get("stack")
    if not isinstance(stack, dict):
        return [Violation("stack-output", "stack", "the program exports no `stack` output")]
    try:
        components = Components.model_validate(stack)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return [Violation("stack-output", f"stack.{where}", first["msg"])]
    found = []
    exported = {k: v.flavor for k, v in components if v is not None}
    for kind, flavor in ctx.recipe.components.items():
        if exported.get(kind) != flavor:
            found.append(Violation("stack-output", f"stack.{kind}",
                                   f"recipe.yaml declares flavor {flavor!r}, the output has {exported.get(kind)!r}"))
    for kind in set(exported) - set(ctx.recipe.components):
        found.append(Violation("stack-output", f"stack.{kind}", "exported but not declared in recipe.yaml"))
    return found


def _name(resource: RecordedResource) -> str:
    return f"{resource.name} ({resource.type})"


def tags_and_labels(ctx: Context) -> list[Violation]:
    aws_expected = {f"zenprovision:{k}": ctx.labels[k] for k in KEYS}
    gcp_expected = {f"zenprovision_{k}": gcp_label_value(ctx.labels[k]) for k in KEYS}
    found = []
    for resource in ctx.record.resources:
        if not resource.custom:
            continue
        if is_taggable(resource.type):
            tags = resource.inputs.get("tags") or {}
            missing = sorted(k for k, v in aws_expected.items() if tags.get(k) != v)
            if missing:
                found.append(Violation("tags", _name(resource), f"missing or wrong tags {', '.join(missing)}"))
        elif (field := label_field(resource.type)) is not None:
            labels = resource.inputs.get(field) or {}
            missing = sorted(k for k, v in gcp_expected.items() if labels.get(k) != v)
            if missing:
                found.append(Violation("labels", _name(resource), f"missing or wrong labels {', '.join(missing)}"))
    return found


def _attached(ctx: Context, type_: str, bucket: RecordedResource) -> list[RecordedResource]:
    """Resources of ``type_`` whose ``bucket`` input is this bucket (by id) or that depend on it."""
    bucket_id = f"{bucket.name}-id"
    return [r for r in ctx.record.of_type(type_) if r.inputs.get("bucket") in (bucket_id, bucket.inputs.get("bucket"))
            or bucket.urn in r.dependencies]


def buckets_private_and_encrypted(ctx: Context) -> list[Violation]:
    found = []
    for bucket in ctx.record.of_type("aws:s3/bucket:Bucket"):
        if str(bucket.inputs.get("acl", "private")).startswith("public"):
            found.append(Violation("private-buckets", _name(bucket), f"acl {bucket.inputs['acl']!r} is public"))
        blocks = _attached(ctx, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        if not any(all(b.inputs.get(f) is True for f in flags) for b in blocks):
            found.append(Violation("private-buckets", _name(bucket), "no public access block with all four flags on"))
        encrypted = _attached(ctx, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket)
        if not encrypted and not bucket.inputs.get("serverSideEncryptionConfiguration"):
            found.append(Violation("encrypted-buckets", _name(bucket), "no server-side encryption configuration"))
    for bucket in ctx.record.of_type("gcp:storage/bucket:Bucket"):
        if bucket.inputs.get("uniformBucketLevelAccess") is not True:
            found.append(Violation("private-buckets", _name(bucket), "uniform bucket-level access is off"))
        if bucket.inputs.get("publicAccessPrevention") != "enforced":
            found.append(Violation("private-buckets", _name(bucket), "public access prevention is not enforced"))
    for member in ctx.record.resources:
        if "allUsers" in json.dumps(member.inputs) or "allAuthenticatedUsers" in json.dumps(member.inputs):
            found.append(Violation("private-buckets", _name(member), "grants access to allUsers"))
    return found


def deletable_in_dev(ctx: Context) -> list[Violation]:
    if ctx.labels["env"] != "dev":
        return []
    return [Violation("deletable", _name(r), "protect=True or retain_on_delete in env dev")
            for r in ctx.record.resources if r.options.get("protect") or r.options.get("retain_on_delete")]


def _expected_force_destroy(ctx: Context) -> bool | None:
    value = ctx.config.get("force_destroy")
    if value is None:
        return None
    text = str(value).lower()
    return ctx.labels["env"] == "dev" if text == "auto" else text == "true"


def force_destroy_follows_config(ctx: Context) -> list[Violation]:
    expected = _expected_force_destroy(ctx)
    if expected is None:
        return []
    found = []
    for bucket in ctx.record.of_type("aws:s3/bucket:Bucket") + ctx.record.of_type("gcp:storage/bucket:Bucket"):
        if bool(bucket.inputs.get("forceDestroy")) != expected:
            found.append(Violation("force-destroy", _name(bucket),
                                   f"forceDestroy is {bucket.inputs.get('forceDestroy')}, config says {expected}"))
    return found


def no_plaintext_credentials(ctx: Context) -> list[Violation]:
    found = []
    for name, value in ctx.record.exports.items():
        if name in ctx.record.secret_exports:
            continue
        try:
            assert_no_plaintext_secret(value if isinstance(value, dict) else {"value": value}, name)
        except ValueError as exc:
            found.append(Violation("no-plaintext-secrets", f"output {name}", str(exc)))
    return found


RULES: list[Rule] = [config_schema, stack_output, tags_and_labels, buckets_private_and_encrypted,
                     deletable_in_dev, force_destroy_follows_config, no_plaintext_credentials]
