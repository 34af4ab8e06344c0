"""The flavor registry, two tiers as in fsspec: a built-in table and entry points.

Built-in flavors are ``"module:Class"`` strings with an install hint, imported only when a
stack uses them, so listing flavors never imports a vendor SDK. Third parties register in
the entry point group ``zenprovision.flavors`` with names ``<kind>.<flavor>``.
"""

from __future__ import annotations

import importlib
import warnings
from importlib import metadata
from typing import Any

from zenprovision import extras
from zenprovision.errors import UnsupportedError

ENTRY_POINT_GROUP = "zenprovision.flavors"

# kind -> flavor -> ("module:Class", the extra that installs it and the modules it imports);
# flavors of the core have no extra.
BUILTIN: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "artifact_store": {
        "gcs": ("zenprovision.runtime.artifact_stores.gcs:GCSArtifactStore", "gcp", ("gcsfs",)),
        "local": ("zenprovision.runtime.artifact_stores.local:LocalArtifactStore", "", ()),
        "s3": ("zenprovision.runtime.artifact_stores.s3:S3ArtifactStore", "aws", ("s3fs",)),
    },
    "orchestrator": {
        "dask": ("zenprovision.runtime.orchestrators.dask:DaskOrchestrator", "dask", ("distributed",)),
        "kubernetes": ("zenprovision.runtime.orchestrators.kubernetes:KubernetesOrchestrator", "kubernetes",
                       ("kubernetes",)),
        "local": ("zenprovision.runtime.orchestrators.local:LocalOrchestrator", "", ()),
    },
    "model_server": {
        "kserve": ("zenprovision.runtime.model_servers.kserve:KServeModelServer", "kubernetes", ("kubernetes",)),
        "mlserver": ("zenprovision.runtime.model_servers.mlserver:MLServerModelServer", "local", ("sklearn",)),
    },
}


def available(kind: str) -> list[str]:
    names = set(BUILTIN.get(kind, {}))
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry_kind, _, name = entry.name.partition(".")
        if entry_kind == kind:
            names.add(name)
    return sorted(names)


def load_class(kind: str, flavor: str) -> type:
    """The implementation class of ``flavor``; a broken plug-in warns and is skipped."""
    if flavor in BUILTIN.get(kind, {}):
        target, extra, modules = BUILTIN[kind][flavor]
        if extra:
            extras.require(extra, f"the {flavor} {kind.replace('_', ' ')}", modules)
        module_name, _, class_name = target.partition(":")
        try:
            return getattr(importlib.import_module(module_name), class_name)
        except ImportError as exc:
            missing = extras.missing_extra(exc, f"the {flavor} {kind.replace('_', ' ')}")
            if missing is not None:
                raise missing from exc
            raise UnsupportedError(
                f"{kind} flavor {flavor!r} needs a package that is missing: {exc.name}",
                hint="reinstall zenprovision",
            ) from exc
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == f"{kind}.{flavor}":
            try:
                return entry.load()
            except Exception as exc:  # a broken plug-in must not crash the runtime
                warnings.warn(f"flavor plug-in {entry.name!r} failed to load: {exc}", stacklevel=2)
    raise UnsupportedError(
        f"{kind} flavor {flavor!r} is not available here",
        hint=f"available: {', '.join(available(kind)) or 'none'}",
    )


def build(kind: str, flavor: str, config: dict[str, Any]) -> Any:
    return load_class(kind, flavor)(config)
