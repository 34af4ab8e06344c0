"""The Kubernetes orchestrator through `provision run`, against the fake API server.

The fake runs each Job's container command for real, as a local subprocess, so the
entrypoint really fetches the code package and inputs from moto S3 and writes outputs
there; scripted pods stand in for what a laptop cannot produce (OOMKilled, image pulls,
evictions).

These CLI tests need the ``kubernetes`` flavor in ``zenprovision.runtime.flavors.BUILTIN``
(the CLI runs in a fresh process, so an in-process registration does not reach it).
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import psutil
import pytest

from tests.k8s_fake import FakeKubernetes
from tests.runtime.conftest import PIPELINES
from zenprovision.errors import InputError, OperationFailed
from zenprovision.runtime import flavors
from zenprovision.runtime.execution import load_artifact
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.orchestrators import kubernetes as k8s
from zenprovision.runtime.orchestrators.base import RunContext
from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig
from zenprovision.stacks.secrets import assert_no_plaintext_secret

SHAPES = str(PIPELINES / "shapes.py")
NAMESPACE, SERVICE_ACCOUNT, IMAGE = "pipelines", "steps", "registry.example/zenprovision-step:0.1.0"
COMMAND = ["python", "-m", "zenprovision.runtime.entrypoint", "--run"]


@pytest.fixture
def fake(tmp_path, moto_server, monkeypatch):
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "nodes").mkdir()
    cluster = FakeKubernetes(tmp_path / "nodes", s3_endpoint=moto_server).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def markers(tmp_path, monkeypatch):
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("ZP_TEST_MARKERS", str(folder))  # the fake's pods inherit it, as node env
    return folder


def save_stack(name: str, artifact_store: dict, orchestrator: dict) -> None:
    store.save(StackConfig(
        name=name, recipe="aws-k8s", engine="pulumi", created_at=datetime.now(timezone.utc),
        components={"artifact_store": artifact_store, "orchestrator": {"flavor": "kubernetes", "config": orchestrator},
                    "model_server": {"flavor": "kserve", "config": {"namespace": NAMESPACE,
                                                                     "service_account": SERVICE_ACCOUNT}}},
    ))


@pytest.fixture
def k8s_stack(home, s3_bucket, fake, tmp_path, markers):
    """What aws-k8s exports, plus the fake's kubeconfig and a short poll."""
    save_stack("k8s", {"flavor": "s3", "config": s3_bucket}, {
        "cluster_name": "zp-k8s", "namespace": NAMESPACE, "service_account": SERVICE_ACCOUNT, "region": "us-east-1",
        "kubeconfig": "pulumi:kubeconfig", "kubeconfig_path": str(fake.write_kubeconfig(tmp_path / "kubeconfig")),
        "image": IMAGE, "poll_seconds": 0.05, "ttl_seconds_after_finished": 600,
    })
    return "k8s"


def jobs_by_step(fake):
    return {job["metadata"]["labels"][k8s.STEP_LABEL]: job for job in fake.created_of("jobs")}


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_fan_out_runs_one_job_per_step_with_artifacts_in_s3(k8s_stack, fake, cli, s3_bucket):
    result = cli("run", f"{SHAPES}:fanout", "--stack", k8s_stack, "-p", "seconds=0", "--json")
    assert result.code == 0, result.err
    run_id = json.loads(result.out)["run_id"]
    jobs = jobs_by_step(fake)
    assert sorted(jobs) == ["gather", "source", "work", "work_2", "work_3", "work_4"]
    assert len(fake.created_of("jobs")) == 6
    store_component = {"flavor": "s3", "config": s3_bucket}
    for node, job in jobs.items():
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert job["metadata"]["namespace"] == NAMESPACE and pod["serviceAccountName"] == SERVICE_ACCOUNT
        assert container["command"] == [*COMMAND, run_id, "--step", node]
        assert container["image"] == IMAGE and "resources" not in container
        assert [e["name"] for e in container["env"]] == ["ZENPROVISION_ARTIFACT_STORE"]
        assert json.loads(container["env"][0]["value"]) == store_component
        assert "AWS_" not in json.dumps(job) and "testing" not in json.dumps(job)  # no credentials, anywhere
        assert not pod.get("volumes") and "envFrom" not in container
        assert_no_plaintext_secret(job, "job")
        labels = {k8s.RUN_LABEL: run_id, k8s.STEP_LABEL: node, k8s.ATTEMPT_LABEL: "1"}
        assert labels.items() <= job["metadata"]["labels"].items()
        assert labels.items() <= job["spec"]["template"]["metadata"]["labels"].items()
        assert job["spec"]["backoffLimit"] == 0 and job["spec"]["ttlSecondsAfterFinished"] == 600
        assert pod["restartPolicy"] == "Never"
        assert ("POST", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs") in fake.requests
    s3 = flavors.build("artifact_store", "s3", s3_bucket)
    assert load_artifact(s3, f"runs/{run_id}/.gather.meta.json") == [0, 10, 20, 30]
    pids = {load_artifact(s3, f"runs/{run_id}/.{n}.meta.json")["pid"] for n in ("work", "work_2", "work_3", "work_4")}
    assert len(pids) == 4 and os.getpid() not in pids  # four pods, none of them this process
    run = MetadataStore(k8s_stack).run(run_id)
    assert {s["status"] for s in run["steps"]} == {"succeeded"}
    assert all(a["uri"].startswith(f"s3://{s3_bucket['bucket']}/") for a in run["artifacts"])
    for node in jobs:  # each pod's log, streamed with its step's prefix, before the step's verdict
        assert f"[{node}] step {node} succeeded: s3://" in result.err
    assert result.err.index("[gather] step gather succeeded") < result.err.index("✓ gather")


FAILING = """
from zenprovision import pipeline, step

@step(image="registry.example/gpu-step:1", resources={"cpu": "2", "memory": "4Gi", "gpu": 1})
def heavy() -> int:
    return 1

@step
def pull() -> int:
    return 1

@step
def crash() -> int:
    return 1

@step
def evict() -> int:
    return 1

@pipeline
def failing():
    heavy()
    pull()
    crash()
    evict()
"""
EXPECTED = {
    "heavy": "OOMKilled: the step ran out of memory (exit code 137); raise its memory limit of 4Gi",
    "pull": f"for image {IMAGE}: ",  # after ErrImagePull or ImagePullBackOff, whichever is seen first
    "crash": "container exited with code 3 (Error); last output: loading the data",
    "evict": "the step's process died: pod evicted: The node was low on resource: ephemeral-storage.",
}


def test_pod_failures_are_one_line_each_and_fail_the_run(k8s_stack, fake, cli, tmp_path):
    (tmp_path / "failing.py").write_text(FAILING)
    for step, behaviour in {"heavy": "oom", "pull": "image_pull", "crash": "exit:3", "evict": "evicted"}.items():
        fake.script(step, behaviour)
    result = cli("run", f"{tmp_path / 'failing.py'}:failing", "--stack", k8s_stack)
    assert result.code == 1
    line = error_line(result.err)
    first = line.split("failed at step '")[1].split("'")[0]
    assert EXPECTED[first] in line
    lines = result.err.splitlines()
    for step, expected in EXPECTED.items():  # each step's reason, in its own progress line
        assert any(f"✗ {step} " in x and expected in x for x in lines), (step, result.err)
    assert any(f"✗ pull ErrImagePull for image {IMAGE}: rpc error: code = NotFound" in x
               or f"✗ pull ImagePullBackOff for image {IMAGE}: Back-off pulling image" in x for x in lines)
    run = MetadataStore(k8s_stack).run(MetadataStore(k8s_stack).runs()[0]["id"])
    assert run["status"] == "failed"
    assert {s["node_id"]: s["status"] for s in run["steps"]} == dict.fromkeys(EXPECTED, "failed")
    assert all(EXPECTED[s["node_id"]] in s["error"] for s in run["steps"])
    jobs = jobs_by_step(fake)
    heavy = jobs["heavy"]["spec"]["template"]["spec"]["containers"][0]
    assert heavy["image"] == "registry.example/gpu-step:1"  # the step's own image and resources
    assert heavy["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"},
                                  "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}}
    for step in ("pull", "crash", "evict"):
        container = jobs[step]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == IMAGE and "resources" not in container
    # a pod that can never start is not left waiting; finished Jobs are left to their TTL
    assert [(d[2], d[3]) for d in fake.deleted] == [(jobs["pull"]["metadata"]["name"], "Background")]
    assert len(fake.items("jobs")) == 4  # an evicted pod is not the step's fault: one extra attempt
    assert {s["node_id"]: s["attempts"] for s in run["steps"]}["evict"] == 2


def test_retries_are_the_schedulers_one_job_per_attempt(k8s_stack, fake, cli, markers):
    # attempt 1 raises in the step (result.json), attempt 2 is OOMKilled (no result.json: the
    # earlier attempt's must not be read instead), attempt 3 succeeds.
    fake.script("flaky", "run", "oom", "run")
    result = cli("run", f"{SHAPES}:retrying", "--stack", k8s_stack, "--json")
    assert result.code == 0, result.err
    assert "retrying after ConnectionError: transient failure" in result.err
    assert "retrying after OOMKilled" in result.err
    jobs = fake.created_of("jobs")
    assert [j["metadata"]["labels"][k8s.ATTEMPT_LABEL] for j in jobs] == ["1", "2", "3"]
    assert len({j["metadata"]["name"] for j in jobs}) == 3 and {j["spec"]["backoffLimit"] for j in jobs} == {0}
    step = MetadataStore(k8s_stack).run(json.loads(result.out)["run_id"])["steps"][0]
    assert step["status"] == "succeeded" and step["attempts"] == 3
    assert (markers / "flaky-attempts").read_text() == "2"  # the OOMKilled pod never ran the step


def test_ctrl_c_deletes_the_runs_jobs_and_their_pods(k8s_stack, fake, markers):
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "run", f"{SHAPES}:sleepy", "--stack", k8s_stack],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (markers / "slow-started").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (markers / "slow-started").exists(), proc.stderr.read() if proc.poll() is not None else "no step"
        step_pid = int((markers / "slow-started").read_text())
        (job,) = fake.created_of("jobs")
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 130, proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "aborted" in proc.stderr.read()
    assert ("jobs", NAMESPACE, job["metadata"]["name"], "Background") in fake.deleted
    assert fake.items("jobs") == [] and fake.items("pods") == []
    assert not psutil.pid_exists(step_pid) or psutil.Process(step_pid).status() == psutil.STATUS_ZOMBIE
    assert MetadataStore(k8s_stack).runs()[0]["status"] == "aborted"


def test_secret_kubeconfig_reference_without_a_kubeconfig_exits_2_with_the_fix(home, s3_bucket, cli, fake):
    save_stack("k8s", {"flavor": "s3", "config": s3_bucket},
               {"namespace": NAMESPACE, "service_account": SERVICE_ACCOUNT, "kubeconfig": "pulumi:kubeconfig"})
    result = cli("run", f"{SHAPES}:fanout", "--stack", "k8s")
    assert result.code == 2
    line = error_line(result.err)
    assert "pulumi stack output kubeconfig --show-secrets > kubeconfig && export KUBECONFIG=$PWD/kubeconfig" in line
    assert MetadataStore("k8s").runs() == []  # nothing was recorded, nothing ran
    assert fake.requests == []


# --- the parts, in process --------------------------------------------------------------


def test_connection_sources_in_order(tmp_path):
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("apiVersion: v1\n")
    config = {"kubeconfig": "pulumi:kubeconfig"}
    assert k8s.k8s_client.resolve({**config, "kubeconfig_path": str(kubeconfig)}, {"KUBECONFIG": "/x"}).path == str(kubeconfig)
    assert k8s.k8s_client.resolve(config, {"KUBECONFIG": "/x", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}).path == "/x"
    assert k8s.k8s_client.resolve(config, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}).path == ""  # in-cluster
    with pytest.raises(InputError, match="does not exist"):
        k8s.k8s_client.resolve({"kubeconfig_path": str(tmp_path / "missing")}, {})
    with pytest.raises(InputError, match="no kubeconfig") as raised:
        k8s.k8s_client.resolve({}, {})
    assert "export KUBECONFIG" in raised.value.hint and "pulumi" not in raised.value.hint


def test_doctor_probe_and_an_unreachable_api_server(tmp_path, fake):
    kubeconfig = fake.write_kubeconfig(tmp_path / "kc")
    orchestrator = k8s.KubernetesOrchestrator({"kubeconfig_path": str(kubeconfig), "namespace": NAMESPACE})
    assert orchestrator.probe() == f"Kubernetes v1.31.0-fake at {fake.url}; Jobs listable in namespace {NAMESPACE}"
    assert ("GET", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs?limit=1") in fake.requests
    fake.stop()
    with pytest.raises(OperationFailed, match=f"the Kubernetes API at {fake.url} .* does not answer") as raised:
        orchestrator.probe()
    assert "STACK" not in raised.value.hint and "`provision stacks` lists them" in raised.value.hint  # no run: no name
    orchestrator.prepare_run(RunContext("r", tmp_path, None, {"name": "dev", "components": {}}))
    with pytest.raises(OperationFailed, match="does not answer") as raised:
        orchestrator.connect()
    assert raised.value.hint == "is the stack up, and the kubeconfig current? `provision doctor dev` checks each component"


def test_names_labels_and_resources_follow_kubernetes_rules():
    long_run = "a-very-long-pipeline-name-that-goes-on-and-on-and-on-20260509-101010-ab12"
    name = k8s.job_name(long_run, "Step_With.Odd__Chars" * 5, 12)
    assert len(name) <= 63 and name.startswith("zp-step-with-odd-chars")
    assert k8s.job_name(long_run, "work", 1) != k8s.job_name(long_run + "x", "work", 1)
    assert k8s.k8s_client.label_value(long_run).endswith("20260509-101010-ab12") and len(k8s.k8s_client.label_value(long_run)) <= 63
    assert k8s.container_resources({"gpu": 2}) == {"limits": {"nvidia.com/gpu": "2"}}
    with pytest.raises(InputError, match="unknown step resources"):
        k8s.container_resources({"cpus": 2})


def _pod(state: dict, reason=None, message=None, memory=None):
    ns = SimpleNamespace
    container = ns(image=IMAGE, state=ns(**{"waiting": None, "terminated": None, "running": None, **state}),
                   last_state=None)
    limits = {"memory": memory} if memory else {}
    return ns(status=ns(reason=reason, message=message, container_statuses=[container]),
              spec=ns(containers=[ns(resources=ns(limits=limits))]))


def test_pod_failures_read_from_the_pod_status():
    terminated = SimpleNamespace(reason="OOMKilled", exit_code=137)
    assert k8s.pod_failure(_pod({"terminated": terminated}, memory="4Gi")).startswith(
        "OOMKilled: the step ran out of memory (exit code 137); raise its memory limit of 4Gi")
    crashed = SimpleNamespace(reason="Error", exit_code=1)
    assert k8s.pod_failure(_pod({"terminated": crashed}), "No module named zenprovision\n") == \
        "container exited with code 1 (Error); last output: No module named zenprovision"
    waiting = SimpleNamespace(reason="CreateContainerConfigError", message='secret "x"\nnot found')
    assert k8s.pod_failure(_pod({"waiting": waiting})).startswith(
        f'CreateContainerConfigError for image {IMAGE}: secret "x" not found')
    assert k8s.pod_failure(_pod({"running": SimpleNamespace()})) == ""


def test_job_verdicts_and_pending_reasons():
    def job(conditions=(), succeeded=None, failed=None):
        return SimpleNamespace(spec=SimpleNamespace(backoff_limit=0), status=SimpleNamespace(
            conditions=[SimpleNamespace(**c) for c in conditions], succeeded=succeeded, failed=failed))

    assert k8s.job_state(job()) == "running"
    assert k8s.job_state(job(succeeded=1)) == "succeeded"
    assert k8s.job_state(job(failed=1)) == "failed"
    deadline = job([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                     "message": "Job was active longer\nthan specified deadline"}])
    assert k8s.job_state(deadline) == "failed"
    assert k8s.job_failure(deadline) == "Job failed: DeadlineExceeded Job was active longer than specified deadline"
    pending = SimpleNamespace(status=SimpleNamespace(conditions=[SimpleNamespace(
        type="PodScheduled", status="False", reason="Unschedulable",
        message="0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")]))
    assert k8s.pending_reason(pending) == "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    assert k8s.pending_reason(SimpleNamespace(status=SimpleNamespace(conditions=None))) == ""
