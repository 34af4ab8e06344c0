"""The KServe model server against the fake Kubernetes API, with models stored in moto S3.

The fake's "KServe" serves ``POST <status.url>/v2/models/<name>/infer`` by loading the
``model.joblib`` below the InferenceService's ``storageUri`` from S3, so a prediction
proves the stored model and the URI fit together.
"""

import json
from datetime import datetime, timezone

import pytest

from tests.k8s_fake import FakeKubernetes
from zenprovision.errors import InputError, ModelServerError
from zenprovision.runtime import flavors
from zenprovision.runtime.context import _CONTEXT, StepContext
from zenprovision.runtime.execution import artifact_store_for
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.model_servers.kserve import KServeModelServer
from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig

NAMESPACE, SERVICE_ACCOUNT = "models", "steps"
ISVC = "inferenceservices"


@pytest.fixture(scope="module")
def models():
    from sklearn.linear_model import LogisticRegression

    rows, labels = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
    return LogisticRegression().fit(rows, labels), LogisticRegression(C=0.01).fit(rows, [1, 1, 0, 0])


@pytest.fixture
def fake(tmp_path, moto_server, monkeypatch):
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    cluster = FakeKubernetes(tmp_path, s3_endpoint=moto_server).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def server(fake, s3_bucket, tmp_path, monkeypatch):
    """The flavor, registered for this process, inside a running step on an S3 stack."""
    monkeypatch.setitem(flavors.BUILTIN["model_server"], "kserve",
                        ("zenprovision.runtime.model_servers.kserve:KServeModelServer", "kubernetes", ("kubernetes",)))
    stack = {"components": {"artifact_store": {"flavor": "s3", "config": s3_bucket}}}
    token = _CONTEXT.set(StepContext("train-20260509-101010-ab12", "deploy_model", stack, artifact_store_for(stack)))
    yield flavors.build("model_server", "kserve", {
        "namespace": NAMESPACE, "service_account": SERVICE_ACCOUNT, "poll_seconds": 0.02, "ready_timeout": 5,
        "kubeconfig_path": str(fake.write_kubeconfig(tmp_path / "kubeconfig"))})
    _CONTEXT.reset(token)


def test_deploy_serves_the_stored_model_from_its_s3_uri(server, fake, models, s3_bucket):
    deployed = server.deploy(models[0], "iris")
    (body,) = fake.created_of(ISVC)
    assert body["apiVersion"] == "serving.kserve.io/v1beta1" and body["kind"] == "InferenceService"
    assert body["metadata"]["name"] == "iris" and body["metadata"]["namespace"] == NAMESPACE
    assert body["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    predictor = body["spec"]["predictor"]
    assert predictor["serviceAccountName"] == SERVICE_ACCOUNT
    assert predictor["model"]["modelFormat"] == {"name": "sklearn"} and predictor["model"]["protocolVersion"] == "v2"
    uri = predictor["model"]["storageUri"]
    assert uri == deployed["storage_uri"] and uri.startswith(f"s3://{s3_bucket['bucket']}/artifacts/models/iris/")
    assert "AWS_" not in json.dumps(body)
    store = flavors.build("artifact_store", "s3", s3_bucket)
    assert store.list("models") == [f"{uri.split('/artifacts/')[1]}/model.joblib"]
    assert deployed["infer_url"] == f"{fake.url}/serving/{NAMESPACE}/iris/v2/models/iris/infer"
    assert server.predict("iris", [[0.0], [3.0]]) == [0, 1]  # loaded from the storageUri by the "cluster"
    assert server.models() == [{"name": "iris", "state": "Ready", "reason": "", "infer_url": deployed["infer_url"]}]
    assert server.probe() == f"1 InferenceServices in namespace {NAMESPACE}"


def test_redeploy_replaces_it_and_waits_for_the_new_version(server, fake, models):
    first = server.deploy(models[0], "iris")
    with fake.lock:  # another tool annotated it meanwhile
        fake.objects[(ISVC, NAMESPACE, "iris")]["metadata"]["annotations"]["team"] = "fraud"
    fake.isvc["ready_after"] = 0.3  # still Ready for generation 1 meanwhile
    second = server.deploy(models[1], "iris")
    assert second["storage_uri"] != first["storage_uri"]
    assert len(fake.created_of(ISVC)) == 1
    assert ("PUT", f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/{ISVC}/iris") in fake.requests
    current = fake.get(ISVC, NAMESPACE, "iris")
    assert current["metadata"]["generation"] == 2
    assert current["status"]["observedGeneration"] == 2  # returned only once the new version was ready
    assert current["spec"]["predictor"]["model"]["storageUri"] == second["storage_uri"]
    assert current["metadata"]["annotations"]["team"] == "fraud"
    assert server.predict("iris", [[0.0], [3.0]]) == [1, 0]


def test_a_failed_load_raises_the_reason_and_puts_the_previous_version_back(server, fake, models):
    first = server.deploy(models[0], "iris")
    fake.isvc_failures.append(("ModelLoadFailed", "Failed to load model: invalid load key\n'x'."))
    with pytest.raises(ModelServerError, match=r"'iris' failed: ModelLoadFailed: Failed to load model: "
                                               r"invalid load key 'x'\.") as raised:
        server.deploy(models[1], "iris")
    assert "previous version was put back" in raised.value.hint
    restored = fake.get(ISVC, NAMESPACE, "iris")
    assert restored["spec"]["predictor"]["model"]["storageUri"] == first["storage_uri"]
    fake.isvc_failures.append(("ModelLoadFailed", "no"))
    with pytest.raises(ModelServerError, match="ModelLoadFailed") as raised:
        server.deploy(models[0], "fresh")
    assert raised.value.hint.startswith("kubectl describe")  # a first deploy has nothing to put back
    rows = {row["name"]: row for row in server.models()}
    assert rows["fresh"]["state"] == "NotReady" and rows["fresh"]["infer_url"] == ""
    assert rows["fresh"]["reason"] == "ModelLoadFailed: no" and rows["iris"]["state"] == "Ready"


def test_not_ready_in_time_is_an_error_naming_the_condition(server, fake, models):
    fake.isvc["never"] = True
    server.config["ready_timeout"] = 0.3
    with pytest.raises(ModelServerError, match=r"'iris' not ready after 0.3s: Ready=Unknown"):
        server.deploy(models[0], "iris")


def test_bad_input_is_refused_before_anything_is_stored(server, fake, models, tmp_path):
    with pytest.raises(InputError, match="cannot name an InferenceService"):
        server.deploy(models[0], "Iris_v2")
    with pytest.raises(InputError, match="scikit-learn models, not dict"):
        server.deploy({"weights": [1]}, "iris")
    local = {"components": {"artifact_store": {"flavor": "local", "config": {"path": tmp_path.as_uri()}}}}
    token = _CONTEXT.set(StepContext("r", "deploy_model", local, artifact_store_for(local)))
    try:
        with pytest.raises(InputError, match="s3:// or gs:// storage, not file://"):
            server.deploy(models[0], "iris")
    finally:
        _CONTEXT.reset(token)
    assert fake.created_of(ISVC) == [] and not list(tmp_path.rglob("model.joblib"))


def test_api_errors_are_model_server_errors(fake, tmp_path):
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    fake.stop()
    server = KServeModelServer({"namespace": NAMESPACE, "kubeconfig_path": str(kubeconfig)})
    with pytest.raises(ModelServerError, match=f"cannot list InferenceServices in namespace '{NAMESPACE}'"):
        server.models()


SERVE = """
from zenprovision import deploy_model, pipeline, step

@step
def train():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])

@pipeline
def serve():
    deploy_model(train(), name="tiny")
"""


def test_deploy_model_in_a_kubernetes_job_then_list_and_predict(home, fake, s3_bucket, cli, tmp_path, monkeypatch):
    """Both flavors through the CLI (they must be in flavors.BUILTIN): ``deploy_model`` runs in a
    Job's pod, which reaches the API through KUBECONFIG as a pod would in-cluster."""
    monkeypatch.setenv("KUBECONFIG", str(fake.write_kubeconfig(tmp_path / "kubeconfig")))
    store.save(StackConfig(
        name="k8s", recipe="aws-k8s", engine="pulumi", created_at=datetime.now(timezone.utc), components={
            "artifact_store": {"flavor": "s3", "config": s3_bucket},
            "orchestrator": {"flavor": "kubernetes", "config": {
                "namespace": NAMESPACE, "service_account": SERVICE_ACCOUNT, "kubeconfig": "pulumi:kubeconfig",
                "image": "registry.example/zenprovision-step:0.1.0", "poll_seconds": 0.05}},
            "model_server": {"flavor": "kserve", "config": {"namespace": NAMESPACE, "service_account": SERVICE_ACCOUNT,
                                                            "poll_seconds": 0.05}},
        }))
    (tmp_path / "serve.py").write_text(SERVE)
    result = cli("run", f"{tmp_path / 'serve.py'}:serve", "--stack", "k8s", "--json")
    assert result.code == 0, result.err
    infer_url = f"{fake.url}/serving/{NAMESPACE}/tiny/v2/models/tiny/infer"
    run = MetadataStore("k8s").run(json.loads(result.out)["run_id"])
    deploy = next(s for s in run["steps"] if s["node_id"] == "deploy_model")
    assert deploy["status"] == "succeeded" and deploy["metadata"]["endpoint"] == infer_url
    (body,) = fake.created_of(ISVC)
    assert body["spec"]["predictor"]["model"]["storageUri"].startswith(f"s3://{s3_bucket['bucket']}/artifacts/models/tiny/")
    assert body["metadata"]["labels"]["zenprovision.io/run"] == run["id"]
    laptop = KServeModelServer(store.load("k8s").components.model_server.config)  # as `provision models` builds it
    assert laptop.models() == [{"name": "tiny", "state": "Ready", "reason": "", "infer_url": infer_url}]
    assert laptop.predict("tiny", [[0.0], [3.0]]) == [0, 1]
