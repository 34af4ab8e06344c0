"""Exports for other tools, as mutation testing showed they need pinning down: the whole of each export, for
stacks with and without a prefix, an endpoint, a registry, a kubeconfig this machine wrote; names and values
exactly as the other tool reads them. Pure functions of a stack config: no shell, no tool installed.

Mutants left alive are equivalent: the default of ``config.get("kubeconfig", "")`` in ``_written_kubeconfig``
(``None``, none, ``"XXXX"``) never starts with ``pulumi:`` either."""

from __future__ import annotations

from datetime import datetime, timezone

from zenprovision.stacks import exports, kubeconfigs
from zenprovision.stacks.config import StackConfig
from zenprovision.stacks.exports import UNKNOWN


def stack(name: str = "dev", **components) -> StackConfig:
    components.setdefault("orchestrator", {"flavor": "local", "config": {}})
    components.setdefault("model_server", {"flavor": "mlserver", "config": {}})
    return StackConfig(name=name, recipe="hand-made", engine="pulumi",
                       created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), components=components)


S3 = {"flavor": "s3", "config": {"bucket": "zp-dev", "prefix": "/team/runs/"}}
GCS = {"flavor": "gcs", "config": {"bucket": "zp-dev", "prefix": "runs"}}
LOCAL = {"flavor": "local", "config": {"path": "file:///home/me/zp"}}
EKS = {"flavor": "kubernetes", "config": {"cluster_name": "zp-eks", "namespace": "ml", "service_account": "steps"}}


# ---------------------------------------------------------------- the artifact root


def test_the_artifact_uri_of_each_flavor():
    assert exports.artifact_uri(stack(artifact_store=S3)) == "s3://zp-dev/team/runs"
    assert exports.artifact_uri(stack(artifact_store=GCS)) == "gs://zp-dev/runs"
    assert exports.artifact_uri(stack(artifact_store={"flavor": "gcs", "config": {"bucket": "zp-dev"}})) == \
        "gs://zp-dev"
    assert exports.artifact_uri(stack(artifact_store=LOCAL)) == "file:///home/me/zp"
    assert exports.artifact_uri(stack(artifact_store={"flavor": "local", "config": {"path": "/home/me/zp"}})) == \
        "file:///home/me/zp"
    assert exports.artifact_uri(stack(artifact_store={"flavor": "minio", "config": {"path": "s3://b/p"}})) == "s3://b/p"
    assert exports.artifact_uri(stack(artifact_store={"flavor": "local", "config": {}})) == "file://"


def test_an_unknown_path_or_prefix_is_unknown_not_a_file_uri():
    assert exports.artifact_uri(stack(artifact_store={"flavor": "local", "config": {"path": UNKNOWN}})) == UNKNOWN
    assert exports.artifact_uri(stack(artifact_store={"flavor": "s3", "config": {"bucket": "b", "prefix": UNKNOWN}})) \
        == UNKNOWN


def test_bucket_uri_parts_lose_only_their_slashes():
    assert exports._bucket_uri("s3", "/bucket-x/", "/runs-X/", "data") == "s3://bucket-x/runs-X/data"
    assert exports._bucket_uri("gs", "b", "", "metaflow") == "gs://b/metaflow"


# ---------------------------------------------------------------- shell env


def test_env_variables_of_a_stack_in_order(home):
    config = stack(artifact_store={"flavor": "s3", "config": {"bucket": "zp-dev", "region": "eu-west-1",
                                                              "endpoint-url.v2": "x"}},
                   orchestrator={"flavor": "local", "config": {"workers": 2}})
    variables = exports.env_variables(config)
    assert list(variables.items()) == [
        ("ZENPROVISION_STACK", "dev"),
        ("ZENPROVISION_ARTIFACT_URI", "s3://zp-dev"),
        ("ZENPROVISION_ARTIFACT_STORE_FLAVOR", "s3"),
        ("ZENPROVISION_ARTIFACT_STORE_BUCKET", "zp-dev"),
        ("ZENPROVISION_ARTIFACT_STORE_ENDPOINT_URL_V2", "x"),  # a name a shell takes
        ("ZENPROVISION_ARTIFACT_STORE_REGION", "eu-west-1"),
        ("ZENPROVISION_ORCHESTRATOR_FLAVOR", "local"),
        ("ZENPROVISION_ORCHESTRATOR_WORKERS", "2"),
        ("ZENPROVISION_MODEL_SERVER_FLAVOR", "mlserver"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
    ]


def test_the_standard_variables_of_a_gcs_stack(home):
    config = stack(artifact_store={"flavor": "gcs", "config": {"bucket": "b", "project": "acme",
                                                               "endpoint_url": "http://127.0.0.1:9023",
                                                               "region": "not-aws"}})
    standard = exports._standard_env(config)
    assert standard == {"GOOGLE_CLOUD_PROJECT": "acme", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9023"}
    assert exports._standard_env(stack(artifact_store={"flavor": "gcs", "config": {"bucket": "b"}})) == {}
    assert exports._standard_env(stack(artifact_store={"flavor": "s3", "config": {
        "bucket": "b", "endpoint_url": "http://127.0.0.1:9000", "project": "not-gcp"}})) == \
        {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"}


def test_kubeconfig_is_the_stacks_path_else_the_file_written_on_this_machine_for_its_cluster(home, tmp_path):
    written = tmp_path / "zp-dev.kubeconfig"
    written.write_text("apiVersion: v1\n")
    cluster = dict(EKS, config={**EKS["config"], "kubeconfig": "pulumi:kubeconfig"})
    config = stack(artifact_store=S3, orchestrator=cluster)
    assert "KUBECONFIG" not in exports.env_variables(config)  # nothing written yet
    kubeconfigs.remember("dev", written)
    kubeconfigs.remember("other", tmp_path)  # another stack's pointer is not this one's
    assert exports.env_variables(config)["KUBECONFIG"] == str(written.resolve())
    given = dict(cluster, config={**cluster["config"], "kubeconfig_path": "/etc/kube/dev"})
    assert exports.env_variables(stack(artifact_store=S3, orchestrator=given))["KUBECONFIG"] == "/etc/kube/dev"
    # a kubeconfig held in the stack config itself, not an output to fetch, has no file written for it
    inline = dict(EKS, config={**EKS["config"], "kubeconfig": "apiVersion: v1"})
    assert "KUBECONFIG" not in exports.env_variables(stack(artifact_store=S3, orchestrator=inline))
    assert "KUBECONFIG" not in exports.env_variables(stack(artifact_store=S3, orchestrator=EKS))


def test_the_env_script_unsets_the_previous_exports_then_exports_and_lists_them(home):
    config = stack(artifact_store={"flavor": "local", "config": {"path": "/data/it's here"}})
    assert exports.to_env(config) == (
        'eval "unset ${ZENPROVISION_EXPORTED:-ZENPROVISION_EXPORTED}"\n'
        "export ZENPROVISION_STACK=dev\n"
        "export ZENPROVISION_ARTIFACT_URI=file:///data/it%27s%20here\n"
        "export ZENPROVISION_ARTIFACT_STORE_FLAVOR=local\n"
        "export ZENPROVISION_ARTIFACT_STORE_PATH='/data/it'\"'\"'s here'\n"
        "export ZENPROVISION_ORCHESTRATOR_FLAVOR=local\n"
        "export ZENPROVISION_MODEL_SERVER_FLAVOR=mlserver\n"
        "export ZENPROVISION_EXPORTED='ZENPROVISION_STACK ZENPROVISION_ARTIFACT_URI "
        "ZENPROVISION_ARTIFACT_STORE_FLAVOR ZENPROVISION_ARTIFACT_STORE_PATH ZENPROVISION_ORCHESTRATOR_FLAVOR "
        "ZENPROVISION_MODEL_SERVER_FLAVOR'\n"
    )


# ---------------------------------------------------------------- ZenML


def test_zenml_artifact_stores_of_each_flavor():
    assert exports._zenml_artifact_store("s3", S3["config"]) == ("s3", {"path": "s3://zp-dev/team/runs"})
    assert exports._zenml_artifact_store("gcs", GCS["config"]) == ("gcp", {"path": "gs://zp-dev/runs"})
    assert exports._zenml_artifact_store("gcs", {"bucket": "b"}) == ("gcp", {"path": "gs://b"})
    assert exports._zenml_artifact_store("local", LOCAL["config"]) == ("local", {"path": "/home/me/zp"})
    assert exports._zenml_artifact_store("local", {"path": "/srv/file://x"}) == ("local", {"path": "/srv/file://x"})
    assert exports._zenml_artifact_store("minio", {"path": "s3://b"}) is None


def test_zenml_orchestrators_of_each_flavor():
    assert exports._zenml_orchestrator("local", {"workers": 4}) == ("local", {})
    assert exports._zenml_orchestrator("kubernetes", {**EKS["config"], "kubeconfig_context": "ctx"}) == (
        "kubernetes", {"kubernetes_context": "ctx", "kubernetes_namespace": "ml", "service_account_name": "steps"})
    assert exports._zenml_orchestrator("kubernetes", {"cluster_name": "zp-eks"}) == (
        "kubernetes", {"kubernetes_context": "zp-eks"})
    assert exports._zenml_orchestrator("dask", {}) is None


def test_zenml_container_registries_of_each_flavor():
    assert exports._zenml_container_registry("ecr", {"uri": "1.dkr.ecr.eu-west-1.amazonaws.com/team/pipelines"}) == \
        ("aws", {"uri": "1.dkr.ecr.eu-west-1.amazonaws.com", "default_repository": "team/pipelines"})
    assert exports._zenml_container_registry("ecr", {"uri": "1.dkr.ecr.eu-west-1.amazonaws.com"}) == \
        ("aws", {"uri": "1.dkr.ecr.eu-west-1.amazonaws.com"})
    assert exports._zenml_container_registry("gar", {"uri": "europe-docker.pkg.dev/p/r"}) == \
        ("gcp", {"uri": "europe-docker.pkg.dev/p/r"})
    assert exports._zenml_container_registry("gar", {}) == "container_registry flavor 'gar' has no uri in the stack config; left out"
    assert exports._zenml_container_registry("ecr", {"uri": ""}) == \
        "container_registry flavor 'ecr' has no uri in the stack config; left out"
    assert exports._zenml_container_registry("acr", {"uri": "x.azurecr.io"}) is None


def test_a_zenml_stack_names_its_components_after_the_stack():
    config = stack("ml-dev", artifact_store=GCS, orchestrator=EKS,
                   container_registry={"flavor": "gar", "config": {"uri": "europe-docker.pkg.dev/p/r"}})
    document, notes = exports.to_zenml(config, "0.98.0")
    assert document == {"stack_name": "ml-dev", "zenml_version": "0.98.0", "components": {
        "artifact_store": {"name": "ml-dev-artifact-store", "type": "artifact_store", "flavor": "gcp",
                           "configuration": {"path": "gs://zp-dev/runs"}},
        "orchestrator": {"name": "ml-dev-orchestrator", "type": "orchestrator", "flavor": "kubernetes",
                         "configuration": {"kubernetes_context": "zp-eks", "kubernetes_namespace": "ml",
                                           "service_account_name": "steps"}},
        "container_registry": {"name": "ml-dev-container-registry", "type": "container_registry", "flavor": "gcp",
                               "configuration": {"uri": "europe-docker.pkg.dev/p/r"}},
    }}
    assert notes == ["model_server flavor 'mlserver' has no ZenML flavor; left out"]


# ---------------------------------------------------------------- Metaflow


def test_a_metaflow_config_of_each_artifact_store():
    assert exports.to_metaflow(stack(artifact_store=S3)) == {
        "METAFLOW_DEFAULT_METADATA": "local", "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://zp-dev/team/runs/metaflow",
        "METAFLOW_DATATOOLS_S3ROOT": "s3://zp-dev/team/runs/data"}
    assert exports.to_metaflow(stack(artifact_store=GCS)) == {
        "METAFLOW_DEFAULT_METADATA": "local", "METAFLOW_DEFAULT_DATASTORE": "gs",
        "METAFLOW_DATASTORE_SYSROOT_GS": "gs://zp-dev/runs/metaflow",
        "METAFLOW_DATATOOLS_GSROOT": "gs://zp-dev/runs/data"}
    assert exports.to_metaflow(stack(artifact_store={"flavor": "gcs", "config": {"bucket": "b"}})) == {
        "METAFLOW_DEFAULT_METADATA": "local", "METAFLOW_DEFAULT_DATASTORE": "gs",
        "METAFLOW_DATASTORE_SYSROOT_GS": "gs://b/metaflow", "METAFLOW_DATATOOLS_GSROOT": "gs://b/data"}
    assert exports.to_metaflow(stack(artifact_store={"flavor": "s3", "config": {"bucket": "b"}})) == {
        "METAFLOW_DEFAULT_METADATA": "local", "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://b/metaflow", "METAFLOW_DATATOOLS_S3ROOT": "s3://b/data"}
    assert exports.to_metaflow(stack(artifact_store=LOCAL)) == {
        "METAFLOW_DEFAULT_METADATA": "local", "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/home/me/zp"}
    assert exports.to_metaflow(stack(artifact_store={"flavor": "minio", "config": {"path": "s3://b"}})) == {
        "METAFLOW_DEFAULT_METADATA": "local"}


def test_the_metaflow_registry_is_the_ecr_host_and_the_whole_gar_uri():
    assert exports._metaflow_registry("ecr", " 1.dkr.ecr.eu-west-1.amazonaws.com/team/pipelines ") == \
        "1.dkr.ecr.eu-west-1.amazonaws.com"
    assert exports._metaflow_registry("gar", " europe-docker.pkg.dev/p/r/ ") == "europe-docker.pkg.dev/p/r"
    assert exports._metaflow_registry("ecr", exports.UNKNOWN) == exports.UNKNOWN
    assert exports._metaflow_registry("ecr", "") == ""


def test_a_metaflow_config_of_a_cluster_and_registry_takes_only_what_is_set():
    config = stack(artifact_store=LOCAL, orchestrator={"flavor": "kubernetes", "config": {"cluster_name": "c"}},
                   container_registry={"flavor": "ecr", "config": {}})
    assert exports.to_metaflow(config) == {
        "METAFLOW_DEFAULT_METADATA": "local", "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/home/me/zp"}
    local_with_namespace = stack(artifact_store=LOCAL, orchestrator={"flavor": "local", "config": {"namespace": "x"}})
    assert "METAFLOW_KUBERNETES_NAMESPACE" not in exports.to_metaflow(local_with_namespace)
