"""What a cloud resource type accepts, read from the provider SDK's own classes.

Used to decide which resources must carry the zenprovision tags (AWS ``tags``) or labels
(GCP ``labels`` / ``resource_labels``) without keeping a hand-written list.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp"}


@cache
def parameters(type_token: str) -> frozenset[str]:
    """Input names of a resource type such as ``aws:s3/bucket:Bucket`` (empty if unknown)."""
    package, _, rest = type_token.partition(":")
    if package not in PACKAGES or ":" not in rest:
        return frozenset()
    module_path, _, class_name = rest.partition(":")
    module = module_path.split("/")[0]
    name = PACKAGES[package] if module == "index" else f"{PACKAGES[package]}.{module}"
    try:
        cls = getattr(importlib.import_module(name), class_name)
    except (ImportError, AttributeError):
        return frozenset()
    init = getattr(cls, "_internal_init", None)
    return frozenset(inspect.signature(init).parameters) if init else frozenset()


def is_taggable(type_token: str) -> bool:
    return type_token.startswith("aws:") and "tags" in parameters(type_token)


def label_field(type_token: str) -> str | None:
    """The GCP input that carries labels for this type, if any (camelCase, as registered)."""
    names = parameters(type_token) if type_token.startswith("gcp:") else frozenset()
    if "labels" in names:
        return "labels"
    if "resource_labels" in names:
        return "resourceLabels"
    return None
