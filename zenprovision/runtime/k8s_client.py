"""Connecting to a stack's Kubernetes cluster with the official client (imported lazily).

Shared by the ``kubernetes`` orchestrator and the ``kserve`` model server. Where the
connection comes from, first match wins:

1. the component config's ``kubeconfig_path`` (optionally ``kubeconfig_context``);
2. the ``KUBECONFIG`` environment variable;
3. the in-cluster service account, inside a pod (``KUBERNETES_SERVICE_HOST`` is set).

A config value ``kubeconfig: "pulumi:kubeconfig"`` names the stack output that holds the
cluster's kubeconfig. It is a secret, so it is never copied into the stack config: the
user fetches it once (the error says how). ``~/.kube/config`` is deliberately not a
fallback: it may well point at another cluster than the stack's.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenprovision import extras
from zenprovision.errors import InputError

REQUEST_TIMEOUT = 30.0  # seconds, for every API call that is not a log stream
POOL_SIZE = 64


@dataclass(frozen=True)
class KubeSource:
    """Where the cluster's address and credentials come from (a kubeconfig file or the pod)."""

    path: str = ""  # a kubeconfig file; empty for the in-cluster config
    context: str | None = None

    def describe(self) -> str:
        return f"kubeconfig {self.path}" if self.path else "the in-cluster service account"


def resolve(config: dict[str, Any], environ: dict[str, str] | None = None) -> KubeSource:
    """The connection a component config asks for; a clear ``InputError`` when there is none."""
    environ = os.environ if environ is None else environ
    context = config.get("kubeconfig_context") or None
    explicit = config.get("kubeconfig_path")
    if explicit:
        path = Path(str(explicit)).expanduser()
        if not path.is_file():
            raise InputError(f"kubeconfig_path {path} does not exist",
                             hint="fix the component's kubeconfig_path in the stack config")
        return KubeSource(str(path.resolve()), context)
    if environ.get("KUBECONFIG"):
        return KubeSource(environ["KUBECONFIG"], context)
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return KubeSource("", context)
    reference = str(config.get("kubeconfig") or "")
    if reference.startswith("pulumi:"):
        output = reference.partition(":")[2] or "kubeconfig"
        raise InputError(
            f"no kubeconfig for this stack's cluster: it is the secret stack output {output!r}",
            hint=f"pulumi stack output {output} --show-secrets > kubeconfig && export KUBECONFIG=$PWD/kubeconfig "
                 "(or set kubeconfig_path in the stack config)",
        )
    raise InputError("no kubeconfig for this stack's cluster",
                     hint="export KUBECONFIG=/path/to/kubeconfig, or set kubeconfig_path in the stack config")


def api_client(source: KubeSource) -> Any:
    """A ``kubernetes.client.ApiClient`` for ``source``; never touches the client's global config."""
    extras.require("kubernetes", "connecting to the stack's Kubernetes cluster")
    from kubernetes import client, config

    configuration = client.Configuration()
    # One log stream per running step holds a connection: a small pool would discard and warn.
    configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, POOL_SIZE)
    try:
        if source.path:
            return config.new_client_from_config(config_file=source.path, context=source.context,
                                                 persist_config=False, client_configuration=configuration)
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    except (config.ConfigException, OSError, ValueError) as exc:
        raise InputError(f"cannot load {source.describe()}: {exc}",
                         hint="check the file, or fetch a fresh kubeconfig for the stack's cluster") from exc


def host(api: Any) -> str:
    return str(api.configuration.host)


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an API error (``None`` when the API was not reached)."""
    try:
        from kubernetes.client.exceptions import ApiException
    except ImportError:
        return None
    return exc.status if isinstance(exc, ApiException) else None


def describe(exc: BaseException) -> str:
    """One line for an API error: the server's own message when it sent one."""
    status = status_of(exc)
    if status is None:
        text = f"{type(exc).__name__}: {exc}"
        return " ".join(text.split())[:300]
    message = ""
    try:
        message = json.loads(getattr(exc, "body", "") or "{}").get("message", "")
    except (ValueError, AttributeError):
        message = str(getattr(exc, "body", "") or "")
    return " ".join(f"{status} {getattr(exc, 'reason', '') or ''}: {message}".split())[:300]


def one_line(text: str | None, limit: int = 300) -> str:
    return " ".join(str(text or "").split())[:limit]


def label_value(text: str) -> str:
    """A valid label value (63 characters, alphanumeric ends); keeps the end, where ids differ."""
    value = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[-63:]
    return value.strip("-_.") or "x"
