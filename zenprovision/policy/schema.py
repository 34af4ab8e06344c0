"""What a cloud resource type accepts, read from the provider SDK's own classes.

Used to decide which resources must carry the zenprovision tags (AWS ``tags``) or labels
(GCP ``labels`` / ``resource_labels``) without keeping a hand-written list.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from functools import cache
from pathlib import Path

from zenprovision.policy.sdk_layout import exported_names, star_modules

PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp"}
PARAMETER = re.compile(r"\s*(\w+)\s*[:=]")


@cache
def parameters(type_token: str) -> frozenset[str]:
    """Input names of a resource type such as ``aws:s3/bucket:Bucket`` (empty if unknown).

    Read from the SDK's source when it has the generated layout (importing a provider
    module costs seconds; reading one signature, milliseconds), else from the class.
    """
    package, _, rest = type_token.partition(":")
    if package not in PACKAGES or ":" not in rest:
        return frozenset()
    module_path, _, class_name = rest.partition(":")
    module = module_path.split("/")[0]
    found = _parameters_from_source(PACKAGES[package], module, class_name)
    if found is not None:
        return found
    name = PACKAGES[package] if module == "index" else f"{PACKAGES[package]}.{module}"
    try:
        cls = getattr(importlib.import_module(name), class_name)
    except (ImportError, AttributeError):
        return frozenset()
    init = getattr(cls, "_internal_init", None)
    return frozenset(inspect.signature(init).parameters) if init else frozenset()


def _parameters_from_source(package: str, module: str, class_name: str) -> frozenset[str] | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / ("" if module == "index" else module)
    try:
        for candidate in star_modules(folder / "__init__.py") or ():
            path = folder / f"{candidate}.py"
            if class_name in (exported_names(path) or ()):
                return _init_parameters(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    return None


def _init_parameters(source: str) -> frozenset[str] | None:
    """The parameter names of the generated ``_internal_init``, one parameter per line."""
    start = source.find("def _internal_init(__self__,")
    if start < 0:
        return None
    names = ["__self__"]
    for line in source[start:].splitlines()[1:]:
        if match := PARAMETER.match(line):
            names.append(match.group(1))
        if line.rstrip().endswith("):"):
            return frozenset(names)
    return None


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
