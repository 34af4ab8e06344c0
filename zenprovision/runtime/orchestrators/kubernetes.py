"""The Kubernetes orchestrator (flavor ``kubernetes``): one Job per step, as its inputs are ready.

Each step runs as ``python -m zenprovision.runtime.entrypoint --run RUN --step STEP`` in a
Job in the stack's namespace, under the stack's service account: credentials come from
its cloud identity (IRSA, Workload Identity), never from the manifest. The only env is
``ZENPROVISION_ARTIFACT_STORE``, the artifact store component (which holds no secrets).
Code travels as a code package through the artifact store, so the image changes only
when dependencies do (``docs/images/Dockerfile``).

Orchestrator config:

* ``namespace`` (``default``), ``service_account`` (``default``);
* ``image``: the step image, in the stack's own registry (the cloud recipes name one; build
  and push it as ``docs/images/README.md`` says). Without it, a run stops before it starts;
* ``resources``: defaults for every step, as for a step below;
* ``ttl_seconds_after_finished`` (3600): Kubernetes deletes finished Jobs after that;
* ``poll_seconds`` (1.0), ``stream_logs`` (true), ``api_timeout_seconds`` (60: how long
  the API may be unreachable before the running steps count as failed);
* ``kubeconfig_path``, ``kubeconfig_context``, ``kubeconfig`` (see ``runtime.k8s_client``).

Per step, read from the ``Step`` object so that they work once ``@step`` accepts them:
``step.image`` and ``step.resources`` (``{"cpu": "2", "memory": "4Gi", "gpu": 1}``, set
as both requests and limits; ``gpu`` is the ``nvidia.com/gpu`` limit).

Retries belong to the shared scheduler, as on every orchestrator: a Job has
``backoffLimit: 0`` and each attempt is a new Job (``zenprovision.io/attempt``). So a
step runs at most ``retries + 1`` times, every attempt is counted and shown, and a
failure that leaves no ``result.json`` (OOMKilled, eviction) is retried like any other.

A watcher thread polls the run's Jobs and pods (two list calls per poll), settles each
step's future from its ``result.json`` or, when the pod died without one, from the pod's
status in one line; it streams each pod's log to stderr as ``[step] line`` (one
follow-stream per running pod, ending with the container; a pod that cannot be scheduled
says why, once). A pod that can never start (image pull, bad config) fails its step at
once and its Job is deleted. Ctrl-C deletes the run's Jobs and their pods.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from zenprovision.errors import InputError, OperationFailed
from zenprovision.runtime import k8s_client
from zenprovision.runtime.execution import StepResult, StepTask
from zenprovision.runtime.orchestrators.base import BaseOrchestrator, RunContext
from zenprovision.runtime.orchestrators.remote import RemoteExecutor, failed
from zenprovision.runtime.remote import read_result, task_file
from zenprovision.runtime.scheduler import LOST

IMAGE_HINT = ("build and push the step image (docs/images/README.md), then redeploy the stack "
              "or set `image` in its orchestrator config")
RUN_LABEL, STEP_LABEL, ATTEMPT_LABEL = "zenprovision.io/run", "zenprovision.io/step", "zenprovision.io/attempt"
# A pod waiting for one of these never starts by itself: the step fails at once.
FATAL_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                 "CreateContainerConfigError", "CreateContainerError"}
LOG_READ_TIMEOUT = 300  # seconds without a log line before the stream is reopened
RESOURCE_KEYS = {"cpu": "cpu", "memory": "memory", "gpu": "nvidia.com/gpu"}


@dataclass(frozen=True)
class JobOptions:
    """What every Job of a run shares, from the orchestrator config and the stack."""

    namespace: str
    service_account: str
    image: str
    ttl_seconds: int
    resources: dict[str, Any]
    store_json: str  # the artifact store component, as the entrypoint reads it

    @classmethod
    def from_config(cls, config: dict[str, Any], store_component: dict[str, Any]) -> JobOptions:
        return cls(namespace=str(config.get("namespace") or "default"),
                   service_account=str(config.get("service_account") or "default"),
                   image=str(config.get("image") or ""),
                   ttl_seconds=int(config.get("ttl_seconds_after_finished", 3600)),
                   resources=dict(config.get("resources") or {}),
                   store_json=json.dumps(store_component, sort_keys=True))


def job_name(run_id: str, node_id: str, attempt: int) -> str:
    """``zp-<step>-<run hash>-<attempt>``: a DNS label, unique per run, step and attempt."""
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", node_id.lower())).strip("-")[:36].strip("-") or "step"
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"zp-{slug}-{digest}-{attempt}"


def container_resources(resources: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``{"cpu", "memory", "gpu"}`` as Kubernetes requests and limits."""
    unknown = sorted(set(resources) - set(RESOURCE_KEYS))
    if unknown:
        raise InputError(f"unknown step resources {unknown}", hint="use cpu, memory and gpu, e.g. "
                         "{'cpu': '2', 'memory': '4Gi', 'gpu': 1}")
    quantities = {RESOURCE_KEYS[k]: str(v) for k, v in resources.items() if v not in (None, "", 0)}
    if not quantities:
        return {}
    requests = {k: v for k, v in quantities.items() if k != "nvidia.com/gpu"}  # GPUs: the limit is the request
    return {"requests": requests, "limits": dict(quantities)} if requests else {"limits": dict(quantities)}


def job_manifest(options: JobOptions, run_id: str, node_id: str, attempt: int, step: Any = None) -> dict[str, Any]:
    """The Job of one attempt of one step (a plain dict, as it goes over the wire)."""
    labels = {"app.kubernetes.io/managed-by": "zenprovision", RUN_LABEL: k8s_client.label_value(run_id),
              STEP_LABEL: k8s_client.label_value(node_id), ATTEMPT_LABEL: str(attempt)}
    container: dict[str, Any] = {
        "name": "step",
        "image": getattr(step, "image", None) or options.image,
        "command": ["python", "-m", "zenprovision.runtime.entrypoint", "--run", run_id, "--step", node_id],
        "env": [{"name": "ZENPROVISION_ARTIFACT_STORE", "value": options.store_json}],
    }
    resources = container_resources({**options.resources, **(getattr(step, "resources", None) or {})})
    if resources:
        container["resources"] = resources
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(run_id, node_id, attempt), "namespace": options.namespace, "labels": labels,
                     "annotations": {"zenprovision.io/run-id": run_id, "zenprovision.io/step-id": node_id}},
        "spec": {
            "backoffLimit": 0,  # the scheduler retries: one attempt, one Job
            "ttlSecondsAfterFinished": options.ttl_seconds,
            "template": {"metadata": {"labels": labels}, "spec": {
                "restartPolicy": "Never", "serviceAccountName": options.service_account, "containers": [container],
            }},
        },
    }


def pod_failure(pod: Any, last_output: str = "") -> str:
    """Why a step's pod failed, in one line (``""`` when its status does not say)."""
    status = pod.status
    if status.reason == "Evicted":  # not the step's fault: like a lost worker, one extra attempt
        return f"{LOST}: pod evicted: {k8s_client.one_line(status.message)}"
    for container in status.container_statuses or []:
        waiting = container.state.waiting if container.state else None
        if waiting and waiting.reason in FATAL_WAITING:
            return (f"{waiting.reason} for image {container.image}: {k8s_client.one_line(waiting.message)} "
                    "(is it pushed to the registry? docs/images/README.md)")
        ended = container.state.terminated if container.state else None
        ended = ended or (container.last_state.terminated if container.last_state else None)
        if ended and ended.reason == "OOMKilled":
            limit = ((pod.spec.containers[0].resources.limits or {}) if pod.spec.containers[0].resources else {})
            where = f" of {limit['memory']}" if "memory" in limit else ""
            return (f"OOMKilled: the step ran out of memory (exit code {ended.exit_code}); raise its memory "
                    f"limit{where} with resources={{'memory': ...}}")
        if ended and ended.exit_code:
            tail = f"; last output: {k8s_client.one_line(last_output, 200)}" if last_output.strip() else ""
            return f"container exited with code {ended.exit_code} ({ended.reason or 'Error'}){tail}"
    if status.reason:
        return f"pod {status.reason}: {k8s_client.one_line(status.message)}"
    return ""


def job_failure(job: Any) -> str:
    """The Job's own Failed condition, in one line (deadline exceeded, backoff limit...)."""
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.type == "Failed" and condition.status == "True":
            return k8s_client.one_line(f"Job failed: {condition.reason or ''} {condition.message or ''}")
    return ""


def job_state(job: Any) -> str:
    """``succeeded``, ``failed`` or ``running``."""
    conditions = {c.type: c.status for c in (job.status.conditions or [])} if job.status else {}
    if conditions.get("Complete") == "True" or (job.status and (job.status.succeeded or 0) > 0):
        return "succeeded"
    if conditions.get("Failed") == "True" or (job.status and (job.status.failed or 0) > (job.spec.backoff_limit or 0)):
        return "failed"
    return "running"


def pending_reason(pod: Any) -> str:
    """Why a pod is not scheduled yet (no node with a free GPU...), or ``""``."""
    for condition in pod.status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False" and condition.reason:
            return k8s_client.one_line(f"{condition.reason}: {condition.message or ''}")
    return ""


def _fatal_waiting(pod: Any) -> bool:
    return any(c.state and c.state.waiting and c.state.waiting.reason in FATAL_WAITING
               for c in (pod.status.container_statuses or []))


def _started(pod: Any) -> bool:
    return any(c.state and (c.state.running or c.state.terminated) for c in (pod.status.container_statuses or []))


class LogFollower(threading.Thread):
    """Copies one pod's log to stderr, prefixed with the step, as it comes."""

    def __init__(self, core: Any, namespace: str, pod: str, prefix: str, lock: threading.Lock) -> None:
        super().__init__(name=f"zenprovision-log-{pod}", daemon=True)
        self.core, self.namespace, self.pod, self.prefix, self.lock = core, namespace, pod, prefix, lock
        self.last_line = ""
        self.stopped = threading.Event()
        self._response: Any = None

    def run(self) -> None:
        from urllib3.exceptions import ReadTimeoutError

        errors, tail = 0, None
        while not self.stopped.is_set() and errors < 4:
            try:
                self._response = self.core.read_namespaced_pod_log(
                    self.pod, self.namespace, follow=True, tail_lines=tail, _preload_content=False,
                    _request_timeout=(10, LOG_READ_TIMEOUT))
                self._copy(self._response)
                return  # the container ended, and so did its log
            except Exception as exc:  # logs are best effort: a step's result never depends on them
                quiet = isinstance(exc, ReadTimeoutError)  # a step that prints nothing for a while
                errors, tail = (errors if quiet else errors + 1), 0  # resume with new lines only
                self.stopped.wait(0 if quiet else 1.0)

    def _copy(self, response: Any) -> None:
        pending = b""
        for chunk in iter(lambda: response.read1(8192), b""):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self._emit(line)
        if pending:
            self._emit(pending)

    def _emit(self, raw: bytes) -> None:
        if self.stopped.is_set():
            return
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if line.strip():
            self.last_line = line
        with self.lock:
            sys.stderr.write(f"[{self.prefix}] {line}\n")
            sys.stderr.flush()

    def stop(self) -> None:
        """Unblock the stream and wait: a thread still reading at interpreter exit can abort it."""
        self.stopped.set()
        try:
            self._response.shutdown()  # urllib3 >= 2.3: wakes the read in the other thread
        except Exception:  # no stream yet, or already closed
            pass
        self.join(3)


@dataclass
class _Attempt:
    node_id: str
    future: Future
    job: str
    logs: LogFollower | None = None
    noted: str = ""  # the pending reason last shown


@dataclass
class RunJobs:
    """The Jobs of one run: creates them on dispatch, watches them, settles their futures."""

    api: Any
    options: JobOptions
    context: RunContext
    poll_seconds: float = 1.0
    stream_logs: bool = True
    api_timeout: float = 60.0
    steps: dict[str, Any] = field(default_factory=dict)  # node id -> Step, for image and resources
    attempts: dict[str, int] = field(default_factory=dict)
    running: dict[str, _Attempt] = field(default_factory=dict)  # job name -> attempt
    followers: list[LogFollower] = field(default_factory=list)

    def __post_init__(self) -> None:
        from kubernetes import client

        self.batch, self.core = client.BatchV1Api(self.api), client.CoreV1Api(self.api)
        self.selector = f"{RUN_LABEL}={k8s_client.label_value(self.context.run_id)}"
        self.lock, self.out_lock, self.stopping = threading.Lock(), threading.Lock(), threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="zenprovision-k8s-watcher", daemon=True)
        self._unreachable_since: float | None = None

    def dispatch(self, run_id: str, node_id: str, future: Future) -> None:
        attempt = self.attempts[node_id] = self.attempts.get(node_id, 0) + 1
        try:
            self.context.store.delete(task_file(run_id, node_id, "result.json"))  # an earlier attempt's
            body = job_manifest(self.options, run_id, node_id, attempt, self.steps.get(node_id))
            self.batch.create_namespaced_job(self.options.namespace, body, _request_timeout=k8s_client.REQUEST_TIMEOUT)
        except Exception as exc:  # the step fails with the reason; the run records it
            reason = getattr(exc, "message", None) or k8s_client.describe(exc)
            future.set_result(failed(node_id, f"cannot create the Job in namespace {self.options.namespace!r}: {reason}"))
            return
        with self.lock:
            self.running[body["metadata"]["name"]] = _Attempt(node_id, future, body["metadata"]["name"])

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.stopping.set()
        self.watcher.join(10)
        for follower in list(self.followers):  # none may still write when the interpreter exits
            follower.stop()

    def abort(self) -> None:
        """Ctrl-C: delete every Job of the run, and (Background propagation) their pods."""
        self.stopping.set()
        try:
            self.batch.delete_collection_namespaced_job(
                self.options.namespace, label_selector=self.selector, propagation_policy="Background",
                _request_timeout=k8s_client.REQUEST_TIMEOUT)
        except Exception as exc:
            self._say(f"warning: could not delete the run's Jobs ({k8s_client.describe(exc)}); delete them "
                      f"with: kubectl delete jobs -n {self.options.namespace} -l {self.selector}\n")

    def _watch(self) -> None:
        while not self.stopping.wait(self.poll_seconds):
            try:
                self._poll()
                self._unreachable_since = None
            except Exception as exc:  # the API may come back; past the timeout the steps fail
                self._unreachable_since = self._unreachable_since or time.monotonic()
                if time.monotonic() - self._unreachable_since > self.api_timeout:
                    self._fail_all(f"lost contact with the Kubernetes API for {self.api_timeout:.0f}s: "
                                   f"{k8s_client.describe(exc)}")

    def _poll(self) -> None:
        with self.lock:
            watched = list(self.running.values())  # before listing: every one of them exists by now
        if not watched:
            return
        timeout = k8s_client.REQUEST_TIMEOUT
        jobs = {j.metadata.name: j for j in self.batch.list_namespaced_job(
            self.options.namespace, label_selector=self.selector, _request_timeout=timeout).items}
        pods: dict[str, Any] = {}
        for pod in sorted(self.core.list_namespaced_pod(self.options.namespace, label_selector=self.selector,
                                                        _request_timeout=timeout).items,
                          key=lambda p: p.metadata.creation_timestamp.timestamp() if p.metadata.creation_timestamp else 0):
            pods[(pod.metadata.labels or {}).get("job-name", "")] = pod  # the newest pod of each Job
        for attempt in watched:
            job, pod = jobs.get(attempt.job), pods.get(attempt.job)
            if pod is not None:
                self._follow(attempt, pod)
            if job is None:
                self._finish(attempt, None, "its Job was deleted before it finished")
            elif job_state(job) != "running":
                self._finish(attempt, pod, "", succeeded=job_state(job) == "succeeded", job=job)
            elif pod is not None and _fatal_waiting(pod):
                self._delete(attempt.job)
                self._finish(attempt, pod, "")

    def _follow(self, attempt: _Attempt, pod: Any) -> None:
        """Stream the log of a pod that started; say once why one is not scheduled yet."""
        if not _started(pod):
            reason = pending_reason(pod)
            if reason and reason != attempt.noted:
                attempt.noted = reason
                self._say(f"[{attempt.node_id}] waiting for a node: {reason}\n")
            return
        if self.stream_logs and (attempt.logs is None or attempt.logs.pod != pod.metadata.name):
            attempt.logs = LogFollower(self.core, self.options.namespace, pod.metadata.name, attempt.node_id,
                                       self.out_lock)
            self.followers.append(attempt.logs)
            attempt.logs.start()

    def _say(self, text: str) -> None:
        with self.out_lock:
            sys.stderr.write(text)
            sys.stderr.flush()

    def _finish(self, attempt: _Attempt, pod: Any, reason: str, succeeded: bool = False, job: Any = None) -> None:
        if attempt.logs is not None:
            attempt.logs.join(5)  # the container ended: its log ends too; print it before the verdict
            attempt.logs.stop()
        if not reason and pod is not None:
            reason = pod_failure(pod, attempt.logs.last_line if attempt.logs else "")
        if not reason and job is not None:
            reason = job_failure(job)
        with self.lock:
            if self.running.pop(attempt.job, None) is None:
                return
        attempt.future.set_result(self._result(attempt.node_id, succeeded, reason or "its Job failed"))

    def _result(self, node_id: str, succeeded: bool, reason: str) -> StepResult:
        store, run_id = self.context.store, self.context.run_id
        try:
            if store.exists(task_file(run_id, node_id, "result.json")):
                return read_result(store, run_id, node_id)
        except Exception as exc:
            return failed(node_id, f"cannot read the step's result.json: {type(exc).__name__}: {exc}")
        return failed(node_id, "the Job succeeded but the step wrote no result.json" if succeeded else reason)

    def _delete(self, name: str) -> None:
        try:
            self.batch.delete_namespaced_job(name, self.options.namespace, propagation_policy="Background",
                                             _request_timeout=k8s_client.REQUEST_TIMEOUT)
        except Exception as exc:  # a Job that never ends is never cleaned up by its TTL: say so
            self._say(f"warning: could not delete Job {name} in namespace {self.options.namespace} "
                      f"({k8s_client.describe(exc)})\n")

    def _fail_all(self, reason: str) -> None:
        with self.lock:
            lost, self.running = list(self.running.values()), {}
        for attempt in lost:
            attempt.future.set_result(failed(attempt.node_id, reason))


class JobExecutor(RemoteExecutor):
    """A ``RemoteExecutor`` that also remembers each task's step, for its image and resources."""

    def __init__(self, context: RunContext, jobs: RunJobs) -> None:
        super().__init__(context, jobs.dispatch)
        self.jobs = jobs

    def submit(self, fn: Any, task: StepTask) -> Future:
        self.jobs.steps[task.node_id] = task.step
        return super().submit(fn, task)


class KubernetesOrchestrator(BaseOrchestrator):
    flavor = "kubernetes"

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.source = k8s_client.resolve(self.config)  # before a run is recorded: fail early
        self.context: RunContext | None = None

    def prepare_run(self, context: RunContext) -> None:
        self.context = context

    def connect(self) -> Any:
        """An API client, after checking the API server answers."""
        from kubernetes import client

        api = k8s_client.api_client(self.source)
        try:
            client.VersionApi(api).get_code(_request_timeout=k8s_client.REQUEST_TIMEOUT)
        except Exception as exc:
            api.close()
            raise OperationFailed(
                f"the Kubernetes API at {k8s_client.host(api)} ({self.source.describe()}) does not answer: "
                f"{k8s_client.describe(exc)}",
                hint=self.doctor_hint("is the stack up, and the kubeconfig current?")) from exc
        return api

    def probe(self) -> str:
        """``provision doctor``: the API server answers and Jobs can be listed in the namespace.

        (The base class's probe runs a no-op step; here that would need an image and a run.)
        """
        from kubernetes import client

        api = self.connect()
        namespace = str(self.config.get("namespace") or "default")
        try:
            version = client.VersionApi(api).get_code(_request_timeout=k8s_client.REQUEST_TIMEOUT).git_version
            client.BatchV1Api(api).list_namespaced_job(namespace, limit=1, _request_timeout=k8s_client.REQUEST_TIMEOUT)
        except Exception as exc:
            raise OperationFailed(f"cannot list Jobs in namespace {namespace!r} at {k8s_client.host(api)}: "
                                  f"{k8s_client.describe(exc)}",
                                  hint="does the namespace exist, and may your identity manage Jobs there?") from exc
        finally:
            api.close()
        return f"Kubernetes {version} at {k8s_client.host(api)}; Jobs listable in namespace {namespace}"

    @contextmanager
    def executor(self) -> Iterator[JobExecutor]:
        if self.context is None:
            raise OperationFailed("the kubernetes orchestrator runs pipeline steps only",
                                  hint="run a pipeline: provision run FILE --stack STACK")
        options = JobOptions.from_config(self.config, self.context.stack["components"]["artifact_store"])
        if not options.image:
            raise InputError(f"stack {self.context.stack.get('name', '?')!r} names no image for its pipeline steps",
                             hint=IMAGE_HINT)
        api = self.connect()
        jobs = RunJobs(api, options, self.context, poll_seconds=float(self.config.get("poll_seconds", 1.0)),
                       stream_logs=bool(self.config.get("stream_logs", True)),
                       api_timeout=float(self.config.get("api_timeout_seconds", 60)))
        jobs.start()
        try:
            yield JobExecutor(self.context, jobs)
        finally:
            jobs.stop()
            api.close()

    def abort(self, executor: Any) -> None:
        executor.jobs.abort()
