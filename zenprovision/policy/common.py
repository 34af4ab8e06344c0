"""Policies for every cloud: the zenprovision labels, deletability in dev, no public grants."""

from __future__ import annotations

import json
from collections.abc import Iterator

from zenprovision.policy.base import Policy
from zenprovision.policy.model import Resource, Settings, is_unknown
from zenprovision.policy.schema import is_taggable, label_field

KEYS = ("stack", "recipe", "env", "owner")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def _gcp_value(value: str) -> str:
    from zenprovision.blocks.labels import gcp_label_value

    return gcp_label_value(value)


def _expected(resource: Resource, settings: Settings) -> tuple[str, dict[str, str | None]] | None:
    """The property that must carry the labels, and the value each must have (None: any)."""
    if is_taggable(resource.type):
        return "tags", {f"zenprovision:{k}": settings.labels.get(k) for k in KEYS}
    field = label_field(resource.type)
    if field is not None:
        return field, {f"zenprovision_{k}": _gcp_value(settings.labels[k]) if k in settings.labels else None
                       for k in KEYS}
    return None


def zenprovision_labels(resource: Resource, settings: Settings) -> Iterator[str]:
    expected = _expected(resource, settings)
    if expected is None:
        return
    field, wanted = expected
    given = resource.props.get(field)
    if is_unknown(given):
        return
    given = given if isinstance(given, dict) else {}
    wrong = sorted(k for k, v in wanted.items()
                   if not given.get(k) or (v is not None and not is_unknown(given[k]) and given[k] != v))
    if wrong:
        yield f"missing or wrong {field} {', '.join(wrong)}"


def deletable_in_dev(resource: Resource, settings: Settings) -> Iterator[str]:
    if settings.env_of(resource) != "dev":
        return
    if resource.protect:
        yield "protect=True in env dev: teardown could not delete it"
    if resource.retain_on_delete:
        yield "retain_on_delete=True in env dev: teardown would leave it running"


BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "gcp:storage/bucket:Bucket")


def force_destroy_follows_config(resource: Resource, settings: Settings) -> Iterator[str]:
    if settings.force_destroy is None:
        return
    text = settings.force_destroy.lower()
    expected = settings.env_of(resource) == "dev" if text == "auto" else text == "true"
    actual = resource.props.get("forceDestroy")
    if not is_unknown(actual) and bool(actual) != expected:
        yield f"forceDestroy is {actual}, config force_destroy={settings.force_destroy} wants {expected}"


def no_public_grants(resource: Resource, settings: Settings) -> Iterator[str]:
    text = json.dumps(resource.props, default=str)
    for member in PUBLIC_MEMBERS:
        if member in text:
            yield f"grants access to {member}"


POLICIES = [
    Policy("zenprovision-labels", "Every taggable AWS resource carries the four zenprovision:* tags, every "
           "labelable GCP resource the four zenprovision_* labels.",
           "Teardown, cost reports and the orphan sweep find a stack's resources by these tags; an untagged "
           "resource is never cleaned up.", "resource", zenprovision_labels, config=("labels",)),
    Policy("deletable-in-dev", "No protect or retain_on_delete in env dev.",
           "Dev stacks are torn down by TTL; a protected or retained resource blocks that or keeps billing.",
           "resource", deletable_in_dev, config=("env",)),
    Policy("force-destroy-follows-config", "Buckets' force_destroy follows the recipe's force_destroy config "
           "(auto: dev only).", "Only dev data may be deleted with its bucket; prod buckets must refuse.",
           "resource", force_destroy_follows_config, types=BUCKET_TYPES, config=("force_destroy", "env")),
    Policy("no-public-grants", "No IAM binding, member or policy grants allUsers or allAuthenticatedUsers.",
           "A grant to allUsers publishes models and data to the internet.", "resource", no_public_grants),
]
