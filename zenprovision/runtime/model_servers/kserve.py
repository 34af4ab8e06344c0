"""KServe (flavor ``kserve``): a model is an ``InferenceService`` in the stack's namespace.

``deploy`` runs inside the ``deploy_model`` step, wherever the orchestrator runs it (a pod,
for the ``kubernetes`` orchestrator: the connection is then the in-cluster service
account). It stores the model once, content-addressed, as
``models/<name>/<sha>/model.joblib`` in the stack's artifact store, then creates or
replaces the ``InferenceService`` (scikit-learn, Open Inference Protocol v2, raw
deployment, the stack's service account: its cloud identity reads the model) and waits
until it is ``Ready`` for this very change. If the new version fails to load, the
previous spec, when there was one, is put back and ``ModelServerError`` says why.

Config: ``namespace``, ``service_account``, ``ready_timeout`` (300 s), ``poll_seconds``
(2), and the connection keys of ``runtime.k8s_client`` (``kubeconfig_path``, ...).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

from zenprovision.errors import InputError, ModelServerError
from zenprovision.runtime import k8s_client
from zenprovision.runtime.model_servers.base import BaseModelServer

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")  # a DNS-1035 label, as KServe requires
# KServe's terminal ways of failing (modelStatus.transitionStatus, lastFailureInfo.reason).
FAILED_TRANSITIONS = {"BlockedByFailedLoad", "InvalidSpec"}
FAILURE_REASONS = {"ModelLoadFailed", "RuntimeUnhealthy", "RuntimeNotRecognized", "NoSupportingRuntime",
                   "InvalidPredictorSpec", "RuntimeDisabled", "InvalidGPUAllocation"}


def inference_service(name: str, namespace: str, service_account: str, storage_uri: str,
                      labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``InferenceService`` serving the scikit-learn model at ``storage_uri``."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "zenprovision", **(labels or {})},
                     "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}},
        "spec": {"predictor": {
            "serviceAccountName": service_account,
            "model": {"modelFormat": {"name": "sklearn"}, "protocolVersion": "v2", "storageUri": storage_uri},
        }},
    }


def readiness(obj: dict[str, Any], generation: int) -> tuple[str, str]:
    """``("ready", url)``, ``("failed", reason)`` or ``("waiting", what it says)`` for ``generation``."""
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    said = " ".join(f"Ready={ready.get('status', 'Unknown')} {ready.get('reason', '')}: "
                    f"{ready.get('message', '')}".split()).rstrip(":")
    observed = status.get("observedGeneration")
    if observed is not None and int(observed) < generation:
        return "waiting", f"the controller has not seen this version yet ({said})"
    model = status.get("modelStatus") or {}
    failure = model.get("lastFailureInfo") or {}
    if model.get("transitionStatus") in FAILED_TRANSITIONS or (
            ready.get("status") == "False" and ready.get("reason") in FAILURE_REASONS):
        reason = failure.get("reason") or ready.get("reason") or model.get("transitionStatus")
        return "failed", k8s_client.one_line(f"{reason}: {failure.get('message') or ready.get('message', '')}")
    if ready.get("status") == "True":
        return "ready", str(status.get("url") or (status.get("address") or {}).get("url") or "")
    return "waiting", said


class KServeModelServer(BaseModelServer):
    flavor = "kserve"

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.namespace = str(self.config.get("namespace") or "default")
        self.service_account = str(self.config.get("service_account") or "default")
        self._objects: Any = None

    @property
    def objects(self) -> Any:
        """The custom objects API, connected on first use."""
        if self._objects is None:
            from kubernetes import client

            self._objects = client.CustomObjectsApi(k8s_client.api_client(k8s_client.resolve(self.config)))
        return self._objects

    def _call(self, doing: str, method: str, *args: Any) -> Any:
        try:
            return getattr(self.objects, method)(GROUP, VERSION, self.namespace, PLURAL, *args,
                                                 _request_timeout=k8s_client.REQUEST_TIMEOUT)
        except Exception as exc:
            if k8s_client.status_of(exc) is None and not _is_network_error(exc):
                raise
            raise ModelServerError(f"cannot {doing} in namespace {self.namespace!r}: {k8s_client.describe(exc)}",
                                   hint="check the cluster connection and that the identity may manage "
                                        "inferenceservices.serving.kserve.io there") from exc

    def deploy(self, model: Any, name: str) -> dict[str, Any]:
        if not NAME.match(name):
            raise InputError(f"model name {name!r} cannot name an InferenceService",
                             hint="lower-case letters, digits and '-', starting with a letter, at most 63")
        if not _is_sklearn(model):
            raise InputError(f"deploy_model on kserve serves scikit-learn models, not {type(model).__name__}")
        from zenprovision.runtime.context import get_step_context

        context = get_step_context()
        storage_uri = self._store_model(context.artifact_store, model, name)
        body = inference_service(name, self.namespace, self.service_account, storage_uri,
                                 {"zenprovision.io/run": k8s_client.label_value(context.run_id)})
        previous, generation = self._apply(body)
        try:
            url = self._wait_ready(name, generation)
        except ModelServerError as exc:
            if previous is not None:
                self._restore(previous)
                exc.hint = "the previous version was put back and is still served"
            raise
        return {"name": name, "infer_url": f"{url}/v2/models/{name}/infer", "server": url,
                "storage_uri": storage_uri, "namespace": self.namespace}

    def _store_model(self, store: Any, model: Any, name: str) -> str:
        """``model.joblib`` under ``models/<name>/<sha>/``; returns the folder's ``s3://``/``gs://`` URI."""
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        data = buffer.getvalue()
        folder = f"models/{name}/{hashlib.sha256(data).hexdigest()[:16]}"
        uri = store.uri(folder)
        if not uri.startswith(("s3://", "gs://")):
            raise InputError(f"KServe loads models from s3:// or gs:// storage, not {uri}",
                             hint="use a stack whose artifact store is s3 or gcs")
        if not store.exists(f"{folder}/model.joblib"):
            store.write_bytes(f"{folder}/model.joblib", data)
        return uri

    def _apply(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
        """Create, or replace what is there; returns (the previous object, the new generation)."""
        name = body["metadata"]["name"]
        try:
            created = self._call(f"create InferenceService {name!r}", "create_namespaced_custom_object", body)
            return None, int(created["metadata"].get("generation", 1))
        except ModelServerError as exc:
            if k8s_client.status_of(exc.__cause__) != 409:
                raise
        for _ in range(3):  # someone else may change it between our read and our write
            current = self._call(f"read InferenceService {name!r}", "get_namespaced_custom_object", name)
            try:
                replaced = self._call(f"replace InferenceService {name!r}", "replace_namespaced_custom_object",
                                      name, _merged(current, body))
                return current, int(replaced["metadata"].get("generation", 1))
            except ModelServerError as exc:
                if k8s_client.status_of(exc.__cause__) != 409:
                    raise
        raise ModelServerError(f"InferenceService {name!r} kept changing while it was updated; try again")

    def _restore(self, previous: dict[str, Any]) -> None:
        name = previous["metadata"]["name"]
        try:
            current = self._call(f"read InferenceService {name!r}", "get_namespaced_custom_object", name)
            body = {key: previous[key] for key in ("apiVersion", "kind", "metadata", "spec") if key in previous}
            self._call(f"restore InferenceService {name!r}", "replace_namespaced_custom_object", name,
                       _merged(current, body))
        except ModelServerError:  # the failure being reported matters more than this one
            pass

    def _wait_ready(self, name: str, generation: int) -> str:
        timeout = float(self.config.get("ready_timeout", 300))
        poll = float(self.config.get("poll_seconds", 2.0))
        deadline = time.monotonic() + timeout
        while True:
            obj = self._call(f"read InferenceService {name!r}", "get_namespaced_custom_object", name)
            state, detail = readiness(obj, generation)
            if state == "ready":
                return detail.rstrip("/")
            if state == "failed":
                raise ModelServerError(f"InferenceService {name!r} failed: {detail}",
                                       hint=f"kubectl describe inferenceservice {name} -n {self.namespace}")
            if time.monotonic() >= deadline:
                raise ModelServerError(f"InferenceService {name!r} not ready after {timeout:g}s: {detail}",
                                       hint=f"kubectl describe inferenceservice {name} -n {self.namespace}")
            time.sleep(poll)

    def probe(self) -> str:
        """A health probe (for ``provision doctor``): the namespace's InferenceServices can be listed."""
        found = self._call("list InferenceServices", "list_namespaced_custom_object")
        return f"{len(found.get('items', []))} InferenceServices in namespace {self.namespace}"

    def models(self) -> list[dict[str, Any]]:
        found = self._call("list InferenceServices", "list_namespaced_custom_object")
        rows = []
        for obj in found.get("items", []):
            generation = int(obj["metadata"].get("generation", 1))
            state, detail = readiness(obj, generation)
            name = obj["metadata"]["name"]
            url = detail.rstrip("/") if state == "ready" else ""
            rows.append({"name": name, "state": "Ready" if state == "ready" else "NotReady",
                         "reason": "" if state == "ready" else detail,
                         "infer_url": f"{url}/v2/models/{name}/infer" if url else ""})
        return sorted(rows, key=lambda row: row["name"])

    def predict(self, name: str, rows: list[list[float]]) -> list[Any]:
        obj = self._call(f"read InferenceService {name!r}", "get_namespaced_custom_object", name)
        state, detail = readiness(obj, int(obj["metadata"].get("generation", 1)))
        if state != "ready" or not detail:
            raise ModelServerError(f"model {name!r} is not ready: {detail}")
        url = f"{detail.rstrip('/')}/v2/models/{name}/infer"
        request = {"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])],
                               "datatype": "FP64", "data": [v for row in rows for v in row]}]}
        return _post(url, request)["outputs"][0]["data"]


def _merged(current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` over ``current``: our spec, their other labels and annotations kept."""
    meta, ours = current["metadata"], body["metadata"]
    return {**body, "metadata": {
        **ours, "resourceVersion": meta.get("resourceVersion"),
        "labels": {**(meta.get("labels") or {}), **(ours.get("labels") or {})},
        "annotations": {**(meta.get("annotations") or {}), **(ours.get("annotations") or {})},
    }}


def _post(url: str, body: Any) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ModelServerError(f"{url} refused the request ({exc.code}): "
                               f"{k8s_client.one_line(exc.read().decode(errors='replace'))}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ModelServerError(f"{url} is unreachable: {exc}",
                               hint="from outside the cluster, expose the model (ingress) or use "
                                    "kubectl port-forward") from exc


def _is_network_error(exc: BaseException) -> bool:
    try:
        from urllib3.exceptions import HTTPError
    except ImportError:
        return isinstance(exc, OSError)
    return isinstance(exc, (HTTPError, OSError))


def _is_sklearn(model: Any) -> bool:
    try:
        from sklearn.base import BaseEstimator
    except ImportError:
        return False
    return isinstance(model, BaseEstimator)
