"""A stack config in the formats other tools read: shell env, ZenML, Metaflow.

Built only from the stack config, which never holds a plaintext secret, so neither can an
export. A planned stack (``provision output --plan``) holds ``UNKNOWN`` where a value is
known only after apply; every value derived from one is ``UNKNOWN`` too.
"""

from __future__ import annotations

import re
import shlex
from importlib import metadata
from typing import Any

from zenprovision.file_uris import file_uri, local_path
from zenprovision.stacks.config import StackConfig

UNKNOWN = "(known after apply)"  # what an offline plan shows for a value only apply learns
DEFAULT_ZENML_VERSION = "0.98.0"  # the ZenML release whose stack file format this export follows
EXPORTED_LIST = "ZENPROVISION_EXPORTED"  # names the last `--format env` set, so the next one can unset them


def artifact_uri(config: StackConfig) -> str:
    """The artifact root as a URI (``s3://bucket/prefix``, ``gs://...``, ``file://...``)."""
    store = config.components.artifact_store
    if store.flavor in ("s3", "gcs"):
        return _bucket_uri("s3" if store.flavor == "s3" else "gs", store.config["bucket"], store.config.get("prefix", ""))
    path = str(store.config.get("path", ""))
    if path in ("", UNKNOWN) or ("://" in path and not path.startswith(("file:", "local:"))):
        return path or "file://"
    return file_uri(local_path(path))  # a local folder's, percent-encoded (RFC 8089)


def _local_folder(path: str) -> str:
    """The folder of a local store's path or ``file://`` URI: ZenML and Metaflow take a path."""
    return path if path == UNKNOWN else local_path(path)


def _bucket_uri(scheme: str, bucket: str, prefix: str, *more: str) -> str:
    if UNKNOWN in (bucket, prefix):
        return UNKNOWN
    parts = [p.strip("/") for p in (bucket, prefix, *more)]
    return f"{scheme}://" + "/".join(p for p in parts if p)


# --- shell env -----------------------------------------------------------------------------

def _standard_env(config: StackConfig) -> dict[str, str]:
    """The variables boto3, s3fs, gcsfs, google-cloud-storage and kubectl read themselves."""
    store, orchestrator = config.components.artifact_store, config.components.orchestrator
    out: dict[str, str] = {}
    if store.flavor == "s3":
        if store.config.get("region"):
            out["AWS_DEFAULT_REGION"] = str(store.config["region"])
        if store.config.get("endpoint_url"):
            out["AWS_ENDPOINT_URL_S3"] = str(store.config["endpoint_url"])
    elif store.flavor == "gcs":
        if store.config.get("project"):
            out["GOOGLE_CLOUD_PROJECT"] = str(store.config["project"])
        if store.config.get("endpoint_url"):
            out["STORAGE_EMULATOR_HOST"] = str(store.config["endpoint_url"])
    kubeconfig = orchestrator.config.get("kubeconfig_path") or _written_kubeconfig(config)
    if kubeconfig:
        out["KUBECONFIG"] = str(kubeconfig)
    return out


def _written_kubeconfig(config: StackConfig) -> str | None:
    """The file `provision kubeconfig STACK -o PATH` wrote on this machine, for a stack with a cluster."""
    if not str(config.components.orchestrator.config.get("kubeconfig", "")).startswith("pulumi:"):
        return None
    from zenprovision.stacks.kubeconfigs import written

    return written(config.name)


def env_variables(config: StackConfig) -> dict[str, str]:
    """Every variable ``--format env`` sets, in order: ours, the artifact root, the standard ones."""
    out = {"ZENPROVISION_STACK": config.name, "ZENPROVISION_ARTIFACT_URI": artifact_uri(config)}
    for kind, component in config.components.model_dump(exclude_none=True).items():
        prefix = f"ZENPROVISION_{kind.upper()}"
        out[f"{prefix}_FLAVOR"] = component["flavor"]
        for key, value in sorted(component["config"].items()):
            out[re.sub(r"[^A-Z0-9_]", "_", f"{prefix}_{key}".upper())] = str(value)
    return out | _standard_env(config)


def to_env(config: StackConfig) -> str:
    """POSIX shell lines for ``eval``: unset what the previous export set, then export.

    ``ZENPROVISION_EXPORTED`` lists the names set, so switching stacks never leaves, say,
    a moto endpoint in ``AWS_ENDPOINT_URL_S3`` behind; names the user set are left alone.
    """
    variables = env_variables(config)
    lines = [f'eval "unset ${{{EXPORTED_LIST}:-{EXPORTED_LIST}}}"']  # never a bare `unset` (zsh refuses it)
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    lines.append(f"export {EXPORTED_LIST}={shlex.quote(' '.join(variables))}")
    return "\n".join(lines) + "\n"


# --- ZenML ----------------------------------------------------------------------------------

def installed_zenml_version() -> str | None:
    """The version of the ZenML installed next to zenprovision, if any (no import of zenml)."""
    try:
        return metadata.version("zenml")
    except metadata.PackageNotFoundError:
        return None


def _zenml_artifact_store(flavor: str, config: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    if flavor == "s3":
        extra = {"client_kwargs": {"endpoint_url": config["endpoint_url"]}} if config.get("endpoint_url") else {}
        return "s3", {"path": _bucket_uri("s3", config["bucket"], config.get("prefix", "")), **extra}
    if flavor == "gcs":
        return "gcp", {"path": _bucket_uri("gs", config["bucket"], config.get("prefix", ""))}
    if flavor == "local":
        return "local", {"path": _local_folder(str(config["path"]))}
    return None


def _zenml_orchestrator(flavor: str, config: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    if flavor == "local":
        return "local", {}
    if flavor == "kubernetes":
        settings = {"kubernetes_context": config.get("kubeconfig_context") or config.get("cluster_name"),
                    "kubernetes_namespace": config.get("namespace"),
                    "service_account_name": config.get("service_account")}
        return "kubernetes", {k: v for k, v in settings.items() if v}
    return None


def _zenml_container_registry(flavor: str, config: dict[str, Any]) -> tuple[str, dict[str, Any]] | str | None:
    uri = str(config.get("uri") or "").strip()
    host, _, repository = uri.partition("/")
    if flavor in ("ecr", "gar") and not host:  # ZenML takes "" and then pushes images to nowhere
        return f"container_registry flavor {flavor!r} has no uri in the stack config; left out"
    if flavor == "ecr":  # ZenML's AWS registry refuses a `/` in uri: the repository goes apart
        return "aws", {"uri": host, **({"default_repository": repository} if repository else {})}
    if flavor == "gar":
        return "gcp", {"uri": uri}
    return None


_ZENML_MAPPERS = {"artifact_store": _zenml_artifact_store, "orchestrator": _zenml_orchestrator,
                  "container_registry": _zenml_container_registry}


def to_zenml(config: StackConfig, zenml_version: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """What ``zenml stack import NAME -f FILE`` reads, and notes on components left out.

    The shape of ZenML's own ``zenml stack export``: one component per type, each
    ``{name, type, flavor, configuration}``; ``zenml_version`` must equal the importing
    ZenML's, so it is the given one, else the installed one, else ``DEFAULT_ZENML_VERSION``.
    """
    components: dict[str, dict[str, Any]] = {}
    notes = []
    for kind, component in config.components.model_dump(exclude_none=True).items():
        mapper = _ZENML_MAPPERS.get(kind)
        mapped = mapper(component["flavor"], component["config"]) if mapper else None
        if mapped is None or isinstance(mapped, str):
            notes.append(mapped or f"{kind} flavor {component['flavor']!r} has no ZenML flavor; left out")
            continue
        flavor, configuration = mapped
        components[kind] = {"name": f"{config.name}-{kind.replace('_', '-')}", "type": kind,
                            "flavor": flavor, "configuration": configuration}
    version = zenml_version or installed_zenml_version() or DEFAULT_ZENML_VERSION
    return {"stack_name": config.name, "zenml_version": version, "components": components}, notes


# --- Metaflow -------------------------------------------------------------------------------

def _metaflow_datastore(config: StackConfig) -> dict[str, str]:
    store = config.components.artifact_store
    if store.flavor == "s3":
        bucket, prefix = store.config["bucket"], store.config.get("prefix", "")
        out = {"METAFLOW_DEFAULT_DATASTORE": "s3",
               "METAFLOW_DATASTORE_SYSROOT_S3": _bucket_uri("s3", bucket, prefix, "metaflow"),
               "METAFLOW_DATATOOLS_S3ROOT": _bucket_uri("s3", bucket, prefix, "data")}
        if store.config.get("endpoint_url"):
            out["METAFLOW_S3_ENDPOINT_URL"] = str(store.config["endpoint_url"])
        return out
    if store.flavor == "gcs":
        bucket, prefix = store.config["bucket"], store.config.get("prefix", "")
        return {"METAFLOW_DEFAULT_DATASTORE": "gs",
                "METAFLOW_DATASTORE_SYSROOT_GS": _bucket_uri("gs", bucket, prefix, "metaflow"),
                "METAFLOW_DATATOOLS_GSROOT": _bucket_uri("gs", bucket, prefix, "data")}
    if store.flavor == "local":
        return {"METAFLOW_DEFAULT_DATASTORE": "local",
                "METAFLOW_DATASTORE_SYSROOT_LOCAL": _local_folder(str(store.config["path"]))}
    return {}


def to_metaflow(config: StackConfig) -> dict[str, str]:
    """A Metaflow configuration (``~/.metaflowconfig/config.json``) for the stack.

    Keys are the ``METAFLOW_<NAME>`` of Metaflow's ``from_conf("<NAME>")`` settings.
    """
    out = {"METAFLOW_DEFAULT_METADATA": "local", **_metaflow_datastore(config)}
    orchestrator = config.components.orchestrator
    if orchestrator.flavor == "kubernetes":
        if orchestrator.config.get("namespace"):
            out["METAFLOW_KUBERNETES_NAMESPACE"] = str(orchestrator.config["namespace"])
        if orchestrator.config.get("service_account"):
            out["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"] = str(orchestrator.config["service_account"])
        if orchestrator.config.get("image"):  # a full reference: Metaflow puts no registry before it
            out["METAFLOW_KUBERNETES_CONTAINER_IMAGE"] = str(orchestrator.config["image"])
    registry = config.components.container_registry
    prefix = _metaflow_registry(registry.flavor, str(registry.config.get("uri") or "")) if registry else ""
    if prefix:
        out["METAFLOW_KUBERNETES_CONTAINER_REGISTRY"] = prefix
    return out


def _metaflow_registry(flavor: str, uri: str) -> str:
    """What Metaflow puts before an image that names no registry, so the image lands in the stack's repository.

    Metaflow 2.19.38 (``metaflow/plugins/kubernetes/kubernetes_decorator.py`` lines 299-304, in
    ``KubernetesDecorator.init``) turns an image that names no registry (``get_docker_registry`` in
    ``metaflow/plugins/aws/aws_utils.py``) into ``"%s/%s" % (KUBERNETES_CONTAINER_REGISTRY.rstrip("/"), image)``.
    An ECR repository is one image (``<host>/zp-dev-pipelines:TAG``): the prefix is the host, and
    ``image="zp-dev-pipelines:TAG"`` reaches it; the whole URI would make ``<host>/zp-dev-pipelines/IMAGE``,
    a repository that does not exist. An Artifact Registry repository holds many images
    (``<region>-docker.pkg.dev/<project>/<repo>/IMAGE:TAG``): the prefix is the whole URI.
    """
    uri = uri.strip().rstrip("/")
    return uri.partition("/")[0] if flavor == "ecr" else uri
