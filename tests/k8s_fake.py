"""A fake Kubernetes API server for tests (never part of the product).

Just enough of the API, over plain HTTP on 127.0.0.1, for the official ``kubernetes``
client: ``/version``; Jobs (create, get, list and delete by label selector, delete
collection); Pods (list by label selector, logs with ``follow`` and ``tailLines``); and
KServe ``InferenceService`` custom objects (create, get, replace, merge patch, list, delete).

It records what clients send (``created``, ``deleted``, ``requests``) and drives
objects through their phases, as a cluster would:

* A Job's pod runs a *behaviour*, chosen per step (the ``zenprovision.io/step`` label)
  with :meth:`FakeKubernetes.script`; each pod takes the next one, the last repeats:
  ``"run"`` (the default) runs the container's command for real as a local subprocess
  with the container's env over this machine's (the "node identity"), and its output is
  the pod log; ``"oom"``, ``"exit:N"``, ``"image_pull"``, ``"evicted"`` and ``"hang"``
  script a failure. Jobs honour ``backoffLimit`` (default 6, as in Kubernetes).
* An InferenceService becomes Ready after ``isvc["ready_after"]`` seconds, with
  ``status.url`` on this server, where ``POST .../v2/models/<name>/infer`` loads the
  ``model.joblib`` below its ``storageUri`` (S3 at ``s3_endpoint``) and predicts. Each
  ``(reason, message)`` in ``isvc_failures`` makes the next change report a failed load
  instead; with ``isvc["never"] = True`` it never becomes ready.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ISVC_PATH = "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success",
            "message": message, "reason": reason, "code": code}


def matches(labels: dict, selector: str) -> bool:
    """``a=b``, ``a==b``, ``a!=b`` and ``a`` (exists), comma-separated."""
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class FakeKubernetes:
    def __init__(self, workdir: Path, s3_endpoint: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.s3_endpoint = s3_endpoint
        self.objects: dict[tuple[str, str, str], dict] = {}  # (plural, namespace, name) -> object
        self.created: list[tuple[str, dict]] = []  # (plural, body as received)
        self.deleted: list[tuple[str, str, str, str]] = []  # (plural, namespace, name, propagation)
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.scripts: dict[str, list[str]] = {}
        self.isvc: dict[str, Any] = {"ready_after": 0.05}
        self.isvc_failures: list[tuple[str, str]] = []  # (reason, message) for the next changes, in turn
        self.lock = threading.RLock()
        self.logs_changed = threading.Condition(self.lock)
        self._logs: dict[str, bytearray] = {}
        self._processes: dict[str, subprocess.Popen] = {}
        self._gone: dict[str, threading.Event] = {}  # job uid -> deleted
        self._version = 0
        self._stopped = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    # --- lifecycle and what tests read ---------------------------------------------------

    def start(self) -> FakeKubernetes:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with self.lock:
            for event in self._gone.values():
                event.set()
            processes = list(self._processes.values())
        for process in processes:
            _kill(process)
        self.server.shutdown()
        self.server.server_close()

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: fake\n  cluster:\n    server: {self.url}\n"
            "users:\n- name: fake\n  user: {}\n"
            f"contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {namespace}\n"
            "current-context: fake\n"
        )
        return path

    def script(self, step: str, *behaviours: str) -> None:
        """What the pods of ``step`` do, one behaviour per pod; the last one repeats."""
        self.scripts[step] = list(behaviours)

    def created_of(self, plural: str) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(body) for kind, body in self.created if kind == plural]

    def items(self, plural: str, namespace: str | None = None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for (kind, ns, _), o in self.objects.items()
                    if kind == plural and namespace in (None, ns)]

    def log(self, pod: str) -> str:
        with self.lock:
            return bytes(self._logs.get(pod, b"")).decode(errors="replace")

    def running_processes(self) -> list[subprocess.Popen]:
        with self.lock:
            return [p for p in self._processes.values() if p.poll() is None]

    # --- object store --------------------------------------------------------------------

    def _stamp(self, obj: dict, namespace: str, creating: bool) -> None:
        self._version += 1
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = namespace
        meta["resourceVersion"] = str(self._version)
        if creating:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)

    def create(self, plural: str, namespace: str, body: dict) -> dict:
        with self.lock:
            name = body.get("metadata", {}).get("name", "")
            if (plural, namespace, name) in self.objects:
                raise ApiError(409, "AlreadyExists", f'{plural} "{name}" already exists')
            self.created.append((plural, copy.deepcopy(body)))
            obj = copy.deepcopy(body)
            self._stamp(obj, namespace, creating=True)
            obj.setdefault("status", {})
            self.objects[(plural, namespace, name)] = obj
            return copy.deepcopy(obj)

    def get(self, plural: str, namespace: str, name: str) -> dict:
        with self.lock:
            try:
                return copy.deepcopy(self.objects[(plural, namespace, name)])
            except KeyError:
                raise ApiError(404, "NotFound", f'{plural} "{name}" not found') from None

    def list(self, plural: str, namespace: str, selector: str = "") -> list[dict]:
        return [o for o in self.items(plural, namespace) if matches(o["metadata"].get("labels") or {}, selector)]

    def update(self, plural: str, namespace: str, name: str, body: dict) -> dict:
        with self.lock:
            current = self.get(plural, namespace, name)
            sent = body.get("metadata", {}).get("resourceVersion")
            if sent and sent != current["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'the object "{name}" has been modified; apply your changes '
                                                "to the latest version and try again")
            obj = copy.deepcopy(body)
            obj["metadata"] = {**current["metadata"], **obj.get("metadata", {})}
            obj["status"] = current.get("status", {})
            if obj.get("spec") != current.get("spec"):
                obj["metadata"]["generation"] = current["metadata"]["generation"] + 1
            self._stamp(obj, namespace, creating=False)
            self.objects[(plural, namespace, name)] = obj
            return copy.deepcopy(obj)

    def set_status(self, plural: str, namespace: str, name: str, **status: Any) -> None:
        with self.lock:
            obj = self.objects.get((plural, namespace, name))
            if obj is not None:
                obj.setdefault("status", {}).update(copy.deepcopy(status))
                self._stamp(obj, namespace, creating=False)

    def delete(self, plural: str, namespace: str, name: str, propagation: str = "Background") -> dict:
        with self.lock:
            obj = self.get(plural, namespace, name)
            del self.objects[(plural, namespace, name)]
            self.deleted.append((plural, namespace, name, propagation))
        if plural == "jobs":
            self._gone[obj["metadata"]["uid"]].set()
            if propagation != "Orphan":
                for pod in self.list("pods", namespace, f"job-name={name}"):
                    self._delete_pod(namespace, pod["metadata"]["name"])
        return obj

    def _delete_pod(self, namespace: str, name: str) -> None:
        with self.lock:
            self.objects.pop(("pods", namespace, name), None)
            process = self._processes.get(name)
        if process is not None:
            _kill(process)

    # --- jobs and pods -------------------------------------------------------------------

    def create_job(self, namespace: str, body: dict) -> dict:
        _validate_job(body)
        job = self.create("jobs", namespace, body)
        with self.lock:
            gone = self._gone[job["metadata"]["uid"]] = threading.Event()
        threading.Thread(target=self._drive_job, args=(namespace, job, gone), daemon=True).start()
        return job

    def _next_behaviour(self, step: str) -> str:
        with self.lock:
            queue = self.scripts.get(step) or ["run"]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _drive_job(self, namespace: str, job: dict, gone: threading.Event) -> None:
        name = job["metadata"]["name"]
        limit = job["spec"].get("backoffLimit", 6)
        step = (job["spec"]["template"].get("metadata", {}).get("labels") or {}).get("zenprovision.io/step", "")
        failures = 0
        self.set_status("jobs", namespace, name, active=1, startTime=now())
        while not gone.is_set():
            pod = self._new_pod(namespace, job)
            ok = self._drive_pod(namespace, pod, self._next_behaviour(step), gone)
            if gone.is_set():
                return
            if ok:
                self.set_status("jobs", namespace, name, active=0, succeeded=1, completionTime=now(),
                                conditions=[_condition("Complete")])
                return
            failures += 1
            self.set_status("jobs", namespace, name, failed=failures)
            if failures > limit:
                self.set_status("jobs", namespace, name, active=0, conditions=[_condition(
                    "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")])
                return

    def _new_pod(self, namespace: str, job: dict) -> dict:
        template = job["spec"]["template"]
        name = f"{job['metadata']['name']}-{uuid.uuid4().hex[:5]}"
        labels = {**(template.get("metadata", {}).get("labels") or {}), "job-name": job["metadata"]["name"],
                  "batch.kubernetes.io/job-name": job["metadata"]["name"],
                  "controller-uid": job["metadata"]["uid"]}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
               "spec": copy.deepcopy(template["spec"]), "status": {"phase": "Pending"}}
        with self.lock:
            self._logs[name] = bytearray()
            self.objects[("pods", namespace, name)] = pod
            self._stamp(pod, namespace, creating=True)
        return pod

    def _container_state(self, namespace: str, pod: dict, phase: str, state: dict, **extra: Any) -> None:
        container = pod["spec"]["containers"][0]
        status = {"name": container["name"], "image": container["image"], "imageID": "", "ready": "running" in state,
                  "restartCount": 0, "started": "running" in state, "state": state}
        self.set_status("pods", namespace, pod["metadata"]["name"], phase=phase, containerStatuses=[status], **extra)

    def _append_log(self, pod: str, data: bytes) -> None:
        with self.logs_changed:
            self._logs.setdefault(pod, bytearray()).extend(data)
            self.logs_changed.notify_all()

    def _drive_pod(self, namespace: str, pod: dict, behaviour: str, gone: threading.Event) -> bool:
        name = pod["metadata"]["name"]
        running = {"running": {"startedAt": now()}}
        if behaviour == "image_pull":
            image = pod["spec"]["containers"][0]["image"]
            self._container_state(namespace, pod, "Pending", {"waiting": {"reason": "ErrImagePull", "message":
                                  f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}"'}})
            time.sleep(0.05)
            self._container_state(namespace, pod, "Pending", {"waiting": {
                "reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}})
            gone.wait()
            return False
        if behaviour == "evicted":
            self.set_status("pods", namespace, name, phase="Failed", reason="Evicted",
                            message="The node was low on resource: ephemeral-storage. Container step was using "
                                    "12Gi, which exceeds its request of 0.")
            return False
        self._container_state(namespace, pod, "Running", running)
        if behaviour == "run":
            code = self._run_container(namespace, pod)
        else:
            self._append_log(name, b"loading the data\n")
            if behaviour == "hang":
                gone.wait()
                return False
            code = 137 if behaviour == "oom" else int(behaviour.partition(":")[2] or 1)
        reason = {0: "Completed", 137: "OOMKilled" if behaviour == "oom" else "Error"}.get(code, "Error")
        terminated = {"terminated": {"exitCode": code, "reason": reason, "startedAt": now(), "finishedAt": now()}}
        self._container_state(namespace, pod, "Succeeded" if code == 0 else "Failed", terminated)
        return code == 0

    def _run_container(self, namespace: str, pod: dict) -> int:
        """The container's command, for real: the image's python, env over the node's."""
        container = pod["spec"]["containers"][0]
        command = list(container.get("command") or []) + list(container.get("args") or [])
        if command and command[0] == "python":
            command[0] = sys.executable
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENPROVISION_")}
        env["PYTHONUNBUFFERED"] = "1"  # the default image sets it (docs/images/Dockerfile)
        env.update({e["name"]: e.get("value", "") for e in container.get("env") or []})
        cwd = tempfile.mkdtemp(prefix="pod-", dir=self.workdir)
        name = pod["metadata"]["name"]
        with self.lock:
            if ("pods", namespace, name) not in self.objects:
                return 137
            process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            self._processes[name] = process
        for chunk in iter(lambda: process.stdout.read1(4096), b""):
            self._append_log(name, chunk)
        return process.wait()

    def pod_log(self, namespace: str, name: str, follow: bool, tail: int | None):
        """Yields the log in chunks; with ``follow``, until the container ends."""
        pod = self.get("pods", namespace, name)
        states = [s["state"] for s in pod["status"].get("containerStatuses", [])]
        if not states or "waiting" in states[0]:
            reason = states[0]["waiting"]["reason"] if states else "ContainerCreating"
            raise ApiError(400, "BadRequest",
                           f'container "step" in pod "{name}" is waiting to start: {reason}')
        sent = 0
        with self.lock:
            data = bytes(self._logs.get(name, b""))
        if tail is not None:
            lines = data.splitlines(keepends=True)
            sent = len(data) - len(b"".join(lines[max(0, len(lines) - tail):] if tail else []))
        while True:
            with self.logs_changed:
                data = bytes(self._logs.get(name, b""))
                finished = self._finished(namespace, name)
                if sent == len(data) and follow and not finished:
                    self.logs_changed.wait(0.05)
                    continue
            if sent < len(data):
                yield data[sent:]
                sent = len(data)
            if not follow or finished:
                return

    def _finished(self, namespace: str, name: str) -> bool:
        pod = self.objects.get(("pods", namespace, name))
        return pod is None or pod["status"].get("phase") in ("Succeeded", "Failed")

    # --- inference services --------------------------------------------------------------

    def isvc_changed(self, namespace: str, obj: dict) -> None:
        """The KServe controller's part, after a while: ready (or failed) for this generation.

        Until then the status stays what it was, as it does until the controller reconciles:
        after an update, still Ready for the previous generation.
        """
        name, generation = obj["metadata"]["name"], obj["metadata"]["generation"]

        with self.lock:
            delay, never = self.isvc.get("ready_after", 0.05), self.isvc.get("never")
            fail = self.isvc_failures.pop(0) if self.isvc_failures else None

        def settle() -> None:
            time.sleep(delay)
            if never:
                return
            if fail:
                reason, message = fail
                self.set_status("inferenceservices", namespace, name, observedGeneration=generation,
                                conditions=[{"type": "Ready", "status": "False", "reason": reason,
                                             "message": message, "lastTransitionTime": now()}],
                                modelStatus={"transitionStatus": "BlockedByFailedLoad",
                                             "lastFailureInfo": {"reason": reason, "message": message}})
                return
            self.set_status("inferenceservices", namespace, name, observedGeneration=generation,
                            url=f"{self.url}/serving/{namespace}/{name}",
                            conditions=[{"type": "Ready", "status": "True", "lastTransitionTime": now()}],
                            modelStatus={"transitionStatus": "UpToDate"})

        threading.Thread(target=settle, daemon=True).start()

    def infer(self, namespace: str, name: str, model: str, body: dict) -> dict:
        import joblib
        import numpy as np
        import s3fs

        uri = self.get("inferenceservices", namespace, name)["spec"]["predictor"]["model"]["storageUri"]
        fs = s3fs.S3FileSystem(endpoint_url=self.s3_endpoint, skip_instance_cache=True)
        with fs.open(f"{uri.rstrip('/')}/model.joblib", "rb") as handle:
            estimator = joblib.load(handle)
        tensor = body["inputs"][0]
        rows = np.asarray(tensor["data"], dtype=float).reshape(tensor["shape"])
        predictions = estimator.predict(rows).tolist()
        return {"model_name": model, "outputs": [{"name": "predict", "shape": [len(predictions)],
                                                  "datatype": "INT64", "data": predictions}]}


def _condition(kind: str, reason: str = "", message: str = "") -> dict:
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": now(), "lastTransitionTime": now()}


def _validate_job(body: dict) -> None:
    """A few of the API server's checks, so a wrong manifest fails here as it would there."""
    problems = []
    name = body.get("metadata", {}).get("name", "")
    if not DNS_LABEL.match(name) or len(name) > 63:
        problems.append(f"metadata.name: Invalid value: {name!r}: must be a DNS-1123 label of at most 63 characters")
    spec = body.get("spec", {})
    template = spec.get("template", {})
    for where, labels in (("metadata.labels", body.get("metadata", {}).get("labels") or {}),
                          ("spec.template.metadata.labels", template.get("metadata", {}).get("labels") or {})):
        for key, value in labels.items():
            if len(value) > 63 or not LABEL_VALUE.match(value):
                problems.append(f"{where}: Invalid value: {value!r} (label {key})")
    pod = template.get("spec", {})
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append("spec.template.spec.restartPolicy: Required value: Never or OnFailure")
    if not pod.get("containers") or not all(c.get("name") and c.get("image") for c in pod["containers"]):
        problems.append("spec.template.spec.containers: Required value: a name and an image")
    if problems:
        raise ApiError(422, "Invalid", f'Job.batch "{name}" is invalid: ' + "; ".join(problems))


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(10)


ROUTES = [
    ("jobs", re.compile(r"^/apis/batch/v1/namespaces/(?P<ns>[^/]+)/jobs(?:/(?P<name>[^/]+))?$")),
    ("pods", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/]+))?$")),
    ("log", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/log$")),
    ("inferenceservices", re.compile(
        r"^/apis/serving\.kserve\.io/v1beta1/namespaces/(?P<ns>[^/]+)/inferenceservices(?:/(?P<name>[^/]+))?$")),
    ("infer", re.compile(r"^/serving/(?P<ns>[^/]+)/(?P<name>[^/]+)/v2/models/(?P<model>[^/]+)/infer$")),
]
VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "gitCommit": "0" * 40,
           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22.0",
           "compiler": "gc", "platform": "linux/amd64"}
KINDS = {"jobs": ("batch/v1", "JobList"), "pods": ("v1", "PodList"),
         "inferenceservices": ("serving.kserve.io/v1beta1", "InferenceServiceList")}


def _handler(fake: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

        def _reply(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _handle(self, method: str) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            with fake.lock:
                fake.requests.append((method, self.path))
            try:
                if url.path.rstrip("/") == "/version":
                    return self._reply(200, VERSION)
                for kind, pattern in ROUTES:
                    found = pattern.match(url.path)
                    if found:
                        return self._route(method, kind, found.groupdict(), query)
                raise ApiError(404, "NotFound", f"the server could not find the requested resource {url.path}")
            except ApiError as exc:
                self._reply(exc.code, status_body(exc.code, exc.reason, exc.message))

        def _route(self, method: str, kind: str, args: dict, query: dict) -> None:
            ns, name = args["ns"], args.get("name")
            if kind == "log":
                return self._log(ns, name, query)
            if kind == "infer":
                return self._reply(200, fake.infer(ns, name, args["model"], self._body()))
            if method == "GET" and name:
                return self._reply(200, fake.get(kind, ns, name))
            if method == "GET":
                api, list_kind = KINDS[kind]
                items = fake.list(kind, ns, query.get("labelSelector", ""))
                return self._reply(200, {"apiVersion": api, "kind": list_kind, "items": items,
                                         "metadata": {"resourceVersion": str(fake._version)}})
            if method == "POST" and kind == "jobs":
                return self._reply(201, fake.create_job(ns, self._body()))
            if method == "POST" and kind == "inferenceservices":
                obj = fake.create(kind, ns, self._body())
                fake.isvc_changed(ns, obj)
                return self._reply(201, obj)
            if method in ("PUT", "PATCH") and kind == "inferenceservices" and name:
                return self._change_isvc(method, ns, name)
            if method == "DELETE":
                return self._delete(kind, ns, name, query)
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {kind} here")

        def _change_isvc(self, method: str, ns: str, name: str) -> None:
            body = self._body()
            if method == "PATCH":
                if "merge-patch" not in (self.headers.get("Content-Type") or ""):
                    raise ApiError(415, "UnsupportedMediaType", "the fake supports merge patches only")
                body = _merge(fake.get("inferenceservices", ns, name), body)
                body["metadata"].pop("resourceVersion", None)
            before = fake.get("inferenceservices", ns, name)["metadata"]["generation"]
            obj = fake.update("inferenceservices", ns, name, body)
            if obj["metadata"]["generation"] != before:
                fake.isvc_changed(ns, obj)
            self._reply(200, obj)

        def _delete(self, kind: str, ns: str, name: str | None, query: dict) -> None:
            body = self._body()
            propagation = body.get("propagationPolicy") or query.get("propagationPolicy") or "Background"
            if name:
                fake.delete(kind, ns, name, propagation)
                return self._reply(200, status_body(200, "", ""))
            for obj in fake.list(kind, ns, query.get("labelSelector", "")):
                fake.delete(kind, ns, obj["metadata"]["name"], propagation)
            self._reply(200, status_body(200, "", ""))

        def _log(self, ns: str, name: str, query: dict) -> None:
            follow = query.get("follow") in ("true", "True", "1")
            tail = int(query["tailLines"]) if "tailLines" in query else None
            chunks = fake.pod_log(ns, name, follow, tail)
            first = next(chunks, b"")  # errors (container waiting) surface before the headers
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(first)
                self.wfile.flush()
                for chunk in chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result
