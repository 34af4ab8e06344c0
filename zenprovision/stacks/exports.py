"""A stack config in the formats other tools read: shell env, ZenML, Metaflow.

Built only from the stack config, which never holds a plaintext secret, so neither can an
export.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from zenprovision.stacks.config import StackConfig

ZENML_VERSION = "0.84.0"  # the stack export format of this ZenML release


def to_env(config: StackConfig) -> str:
    """``export ZENPROVISION_<COMPONENT>_<KEY>=value`` lines for a shell."""
    lines = [f"export ZENPROVISION_STACK={shlex.quote(config.name)}"]
    for kind, component in config.components.model_dump(exclude_none=True).items():
        prefix = f"ZENPROVISION_{kind.upper()}"
        lines.append(f"export {prefix}_FLAVOR={shlex.quote(component['flavor'])}")
        for key, value in sorted(component["config"].items()):
            name = re.sub(r"[^A-Z0-9_]", "_", f"{prefix}_{key}".upper())
            lines.append(f"export {name}={shlex.quote(str(value))}")
    return "\n".join(lines) + "\n"


def _zenml_component(kind: str, flavor: str, config: dict[str, Any]) -> tuple[str, str, dict] | None:
    """(zenml type, zenml flavor, configuration) or None where ZenML has no such flavor."""
    if kind == "artifact_store":
        if flavor == "s3":
            path = "/".join(p for p in (config["bucket"], config.get("prefix", "").strip("/")) if p)
            extra = {"client_kwargs": {"endpoint_url": config["endpoint_url"]}} if config.get("endpoint_url") else {}
            return "artifact_store", "s3", {"path": f"s3://{path}", **extra}
        if flavor == "gcs":
            return "artifact_store", "gcp", {"path": f"gs://{config['bucket']}"}
        if flavor == "local":
            return "artifact_store", "local", {"path": str(config["path"]).removeprefix("file://")}
    if kind == "orchestrator":
        if flavor == "local":
            return "orchestrator", "local", {}
        if flavor == "kubernetes":
            return "orchestrator", "kubernetes", {"kubernetes_context": config.get("cluster_name"),
                                                  "kubernetes_namespace": config.get("namespace"),
                                                  "service_account_name": config.get("service_account")}
    if kind == "container_registry":
        uri = str(config.get("uri", ""))
        if flavor == "ecr":
            return "container_registry", "aws", {"uri": uri.split("/")[0]}
        if flavor == "gar":
            return "container_registry", "gcp", {"uri": uri}
    return None


def to_zenml(config: StackConfig) -> tuple[dict[str, Any], list[str]]:
    """What ``zenml stack import`` reads, and notes on components ZenML cannot take."""
    components: dict[str, list[dict[str, Any]]] = {}
    notes = []
    for kind, component in config.components.model_dump(exclude_none=True).items():
        mapped = _zenml_component(kind, component["flavor"], component["config"])
        if mapped is None:
            notes.append(f"{kind} flavor {component['flavor']!r} has no ZenML flavor; left out")
            continue
        zenml_type, flavor, configuration = mapped
        components[zenml_type] = [{"name": f"{config.name}-{zenml_type.replace('_', '-')}", "type": zenml_type,
                                   "flavor": flavor, "configuration": configuration}]
    return {"stack_name": config.name, "zenml_version": ZENML_VERSION, "components": components}, notes


def to_metaflow(config: StackConfig) -> dict[str, str]:
    """A Metaflow configuration (``~/.metaflowconfig/config.json``) for the stack."""
    out: dict[str, str] = {"METAFLOW_DEFAULT_METADATA": "local"}
    store = config.components.artifact_store
    if store.flavor == "s3":
        root = "/".join(p for p in (store.config["bucket"], store.config.get("prefix", "").strip("/")) if p)
        out |= {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://{root}/metaflow",
                "METAFLOW_DATATOOLS_S3ROOT": f"s3://{root}/data"}
        if store.config.get("endpoint_url"):
            out["METAFLOW_S3_ENDPOINT_URL"] = store.config["endpoint_url"]
    elif store.flavor == "gcs":
        out |= {"METAFLOW_DEFAULT_DATASTORE": "gs", "METAFLOW_DATASTORE_SYSROOT_GS": f"gs://{store.config['bucket']}/metaflow"}
    elif store.flavor == "local":
        out |= {"METAFLOW_DEFAULT_DATASTORE": "local",
                "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(store.config["path"]).removeprefix("file://")}
    orchestrator = config.components.orchestrator
    if orchestrator.flavor == "kubernetes":
        out |= {"METAFLOW_KUBERNETES_NAMESPACE": str(orchestrator.config.get("namespace", "")),
                "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": str(orchestrator.config.get("service_account", ""))}
    registry = config.components.container_registry
    if registry is not None and registry.config.get("uri"):
        out["METAFLOW_KUBERNETES_CONTAINER_REGISTRY"] = str(registry.config["uri"])
    return out
