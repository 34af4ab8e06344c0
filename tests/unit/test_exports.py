"""Exports for other tools: shell env, ZenML stack import, Metaflow config."""

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from zenprovision.stacks import exports, store
from zenprovision.stacks.config import StackConfig

UPSTREAM = Path(__file__).parents[1] / "fixtures" / "upstream"
ZENML = json.loads((UPSTREAM / "zenml_flavor_fields.json").read_text())
METAFLOW_KEYS = set(json.loads((UPSTREAM / "metaflow_config_keys.json").read_text())["keys"])


def stack(name: str = "dev", **components) -> StackConfig:
    return StackConfig(name=name, recipe="aws-k8s", engine="pulumi", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                       components=components)


AWS = stack(
    artifact_store={"flavor": "s3", "config": {"bucket": "zp-dev-artifacts", "region": "eu-west-1",
                                               "endpoint_url": "http://127.0.0.1:9000"}},
    container_registry={"flavor": "ecr", "config": {"uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/zp-dev-pipelines"}},
    orchestrator={"flavor": "kubernetes", "config": {"cluster_name": "zp-dev-eks", "namespace": "zenprovision",
                                                     "service_account": "zenprovision-steps",
                                                     "kubeconfig_path": "/home/me/.kube/zp-dev"}},
    model_server={"flavor": "kserve", "config": {"namespace": "zenprovision"}},
)
GCP = stack(
    artifact_store={"flavor": "gcs", "config": {"bucket": "zp-dev", "prefix": "runs", "project": "acme-ml",
                                                "endpoint_url": "http://127.0.0.1:9023"}},
    container_registry={"flavor": "gar", "config": {"uri": "europe-west1-docker.pkg.dev/acme-ml/zp-dev"}},
    orchestrator={"flavor": "kubernetes", "config": {"cluster_name": "zp-dev-gke", "namespace": "ml"}},
    model_server={"flavor": "kserve", "config": {"namespace": "ml"}},
)
LOCAL = stack(
    artifact_store={"flavor": "local", "config": {"path": "file:///home/me/zp/artifacts"}},
    orchestrator={"flavor": "local", "config": {"workers": 2}},
    model_server={"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:8080"}},
)


def _shell(script: str, env: dict | None = None) -> str:
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, check=True)
    return done.stdout


# --- env ------------------------------------------------------------------------------------

def test_env_export_is_valid_shell_with_our_names_the_artifact_uri_and_the_standard_ones():
    text = exports.to_env(AWS)
    script = text + 'printf "%s|" "$ZENPROVISION_ARTIFACT_STORE_BUCKET" "$ZENPROVISION_ARTIFACT_URI" ' \
                    '"$AWS_DEFAULT_REGION" "$AWS_ENDPOINT_URL_S3" "$KUBECONFIG"'
    assert _shell(script) == "zp-dev-artifacts|s3://zp-dev-artifacts|eu-west-1|http://127.0.0.1:9000|/home/me/.kube/zp-dev|"
    exported = [line for line in text.splitlines() if line.startswith("export ")]
    assert all(len(shlex.split(line)) == 2 for line in exported)


def test_env_export_of_a_gcs_emulator_stack_sets_what_google_clients_read():
    variables = exports.env_variables(GCP)
    assert variables["STORAGE_EMULATOR_HOST"] == "http://127.0.0.1:9023"
    assert variables["GOOGLE_CLOUD_PROJECT"] == "acme-ml"
    assert variables["ZENPROVISION_ARTIFACT_URI"] == "gs://zp-dev/runs"
    assert not {"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3", "KUBECONFIG"} & set(variables)


def test_switching_stacks_unsets_what_the_previous_export_set_and_nothing_else():
    script = (exports.to_env(AWS) + exports.to_env(LOCAL)
              + 'printf "%s|%s|%s|%s" "${AWS_ENDPOINT_URL_S3-unset}" "${ZENPROVISION_ARTIFACT_STORE_BUCKET-unset}" '
                '"$ZENPROVISION_ARTIFACT_URI" "$MINE"')
    assert _shell(script, env={"PATH": os.environ["PATH"], "MINE": "kept"}) == \
        "unset|unset|file:///home/me/zp/artifacts|kept"


def test_env_export_of_a_fresh_shell_unsets_nothing_it_did_not_set():
    script = exports.to_env(LOCAL) + 'printf "%s" "$AWS_ENDPOINT_URL_S3"'
    env = {"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL_S3": "http://users-own:1"}
    assert _shell(script, env=env) == "http://users-own:1"


def test_boto3_in_the_exported_env_targets_the_stacks_endpoint(moto_server, s3_bucket, tmp_path):
    config = stack(artifact_store={"flavor": "s3", "config": s3_bucket},
                   orchestrator={"flavor": "local", "config": {}}, model_server={"flavor": "mlserver", "config": {}})
    env_file = tmp_path / "stack.env"
    env_file.write_text(exports.to_env(config))
    probe = ("import boto3, sys; s3 = boto3.client('s3'); "
             "print(s3.meta.endpoint_url, s3.meta.region_name, "
             "[b['Name'] for b in s3.list_buckets()['Buckets']].count(sys.argv[1]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or "KEY" in k}  # no region, no endpoint
    out = _shell(f". {env_file} && {shlex.quote(sys.executable)} -c {shlex.quote(probe)} {s3_bucket['bucket']}", env=env)
    assert out.split() == [moto_server, "us-east-1", "1"]


# --- ZenML ----------------------------------------------------------------------------------

def test_zenml_export_has_one_component_per_type_as_zenml_stack_import_reads():
    document, notes = exports.to_zenml(AWS, "0.98.0")
    assert set(document) == {"stack_name", "zenml_version", "components"}
    assert document["stack_name"] == "dev" and document["zenml_version"] == "0.98.0"
    for component_type, component in document["components"].items():
        assert set(component) == {"name", "type", "flavor", "configuration"}
        assert component["type"] == component_type
    components = document["components"]
    assert components["artifact_store"]["configuration"] == {
        "path": "s3://zp-dev-artifacts", "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}
    assert components["container_registry"]["configuration"] == {
        "uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "default_repository": "zp-dev-pipelines"}
    assert components["orchestrator"] == {
        "name": "dev-orchestrator", "type": "orchestrator", "flavor": "kubernetes",
        "configuration": {"kubernetes_context": "zp-dev-eks", "kubernetes_namespace": "zenprovision",
                          "service_account_name": "zenprovision-steps"}}
    assert notes == ["model_server flavor 'kserve' has no ZenML flavor; left out"]


@pytest.mark.parametrize("config", [AWS, GCP, LOCAL], ids=["aws", "gcp", "local"])
def test_zenml_export_uses_only_flavors_and_fields_zenml_declares(config):
    """Field names read from ZenML 0.98's flavor config classes (tests/fixtures/upstream)."""
    document, _ = exports.to_zenml(config)
    for kind, component in document["components"].items():
        declared = ZENML["components"][kind]
        assert component["flavor"] in declared, f"ZenML has no {kind} flavor {component['flavor']!r}"
        unknown = set(component["configuration"]) - set(declared[component["flavor"]]["fields"])
        assert not unknown, f"{kind}/{component['flavor']}: ZenML would silently drop {unknown}"
    if config is not LOCAL:  # a cloud stack imports with all its parts
        assert set(document["components"]) == {"artifact_store", "orchestrator", "container_registry"}


def test_zenml_version_is_the_given_one_else_the_installed_one_else_the_default(monkeypatch):
    assert exports.to_zenml(LOCAL, "0.91.1")[0]["zenml_version"] == "0.91.1"
    monkeypatch.setattr(exports, "installed_zenml_version", lambda: "0.99.2")
    assert exports.to_zenml(LOCAL)[0]["zenml_version"] == "0.99.2"
    monkeypatch.setattr(exports, "installed_zenml_version", lambda: None)
    assert exports.to_zenml(LOCAL)[0]["zenml_version"] == exports.DEFAULT_ZENML_VERSION == ZENML["zenml_version"]


def test_installed_zenml_version_is_read_from_package_metadata(monkeypatch):
    from importlib import metadata

    monkeypatch.setattr(metadata, "version", lambda name: {"zenml": "0.97.3"}[name])
    assert exports.installed_zenml_version() == "0.97.3"


# --- Metaflow -------------------------------------------------------------------------------

def test_metaflow_export_has_the_keys_metaflow_reads():
    config = exports.to_metaflow(AWS)
    assert config == {
        "METAFLOW_DEFAULT_METADATA": "local",
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://zp-dev-artifacts/metaflow",
        "METAFLOW_DATATOOLS_S3ROOT": "s3://zp-dev-artifacts/data",
        "METAFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "METAFLOW_KUBERNETES_NAMESPACE": "zenprovision",
        "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": "zenprovision-steps",
        "METAFLOW_KUBERNETES_CONTAINER_REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    }
    assert exports.to_metaflow(GCP)["METAFLOW_DATASTORE_SYSROOT_GS"] == "gs://zp-dev/runs/metaflow"
    assert exports.to_metaflow(LOCAL)["METAFLOW_DATASTORE_SYSROOT_LOCAL"] == "/home/me/zp/artifacts"


def _metaflow_image(registry: str, image: str) -> str:
    """The image a Metaflow @kubernetes step pulls, by Metaflow 2.19.38's own rule (Netflix/metaflow
    d2dd7f95): ``metaflow/plugins/kubernetes/kubernetes_decorator.py`` lines 299-304 prefix an image
    ``get_docker_registry`` (``metaflow/plugins/aws/aws_utils.py`` line 119, this regex) finds no registry in."""
    if re.match(r"^(.+?(?:[:.].+?)\/)?(.*?)(?:[@:])?((?<=[@:]).*)?$", image).group(1) is None and registry:
        return f"{registry.rstrip('/')}/{image}"
    return image


@pytest.mark.parametrize(("config", "image", "pulled"), [
    (AWS, "zp-dev-pipelines:train", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/zp-dev-pipelines:train"),
    (GCP, "train:v1", "europe-west1-docker.pkg.dev/acme-ml/zp-dev/train:v1"),
    (AWS, "ghcr.io/acme/train:v1", "ghcr.io/acme/train:v1"),
], ids=["ecr", "gar", "full-image-untouched"])
def test_metaflow_joins_the_exported_registry_and_an_image_into_the_stacks_repository(config, image, pulled):
    """An ECR repository is one image, so Metaflow needs the registry host; a GAR one holds images."""
    registry = exports.to_metaflow(config)["METAFLOW_KUBERNETES_CONTAINER_REGISTRY"]
    assert _metaflow_image(registry, image) == pulled


def test_a_metaflow_step_without_an_image_of_its_own_runs_the_stacks_step_image():
    """Else Metaflow's default ``python:X.Y`` gets the registry put before it: ``<ecr-host>/python:3.11``, no such image."""
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/zp-dev-pipelines:0.9"
    with_image = AWS.model_copy(deep=True)
    with_image.components.orchestrator.config["image"] = image
    exported = exports.to_metaflow(with_image)
    assert exported["METAFLOW_KUBERNETES_CONTAINER_IMAGE"] == image and set(exported) <= METAFLOW_KEYS
    assert _metaflow_image(exported["METAFLOW_KUBERNETES_CONTAINER_REGISTRY"], image) == image
    assert "METAFLOW_KUBERNETES_CONTAINER_IMAGE" not in exports.to_metaflow(AWS)  # no image named: Metaflow's own


@pytest.mark.parametrize("config", [AWS, GCP, LOCAL], ids=["aws", "gcp", "local"])
def test_metaflow_export_uses_only_keys_metaflow_config_declares(config):
    assert set(exports.to_metaflow(config)) <= METAFLOW_KEYS


# --- planned stacks -------------------------------------------------------------------------

def test_values_derived_from_an_unknown_are_unknown():
    planned = stack(artifact_store={"flavor": "s3", "config": {"bucket": exports.UNKNOWN, "region": "us-east-1"}},
                    orchestrator={"flavor": "local", "config": {}}, model_server={"flavor": "mlserver", "config": {}})
    assert exports.artifact_uri(planned) == exports.UNKNOWN
    assert exports.to_metaflow(planned)["METAFLOW_DATASTORE_SYSROOT_S3"] == exports.UNKNOWN
    assert exports.to_zenml(planned)[0]["components"]["artifact_store"]["configuration"]["path"] == exports.UNKNOWN


# --- CLI ------------------------------------------------------------------------------------

def test_cli_formats_with_a_note_on_stderr(home, cli):
    store.save(AWS)
    zenml = cli("output", "dev", "--format", "zenml", "--zenml-version", "0.98.0")
    assert zenml.code == 0 and yaml.safe_load(zenml.out)["zenml_version"] == "0.98.0"
    assert "kserve" in zenml.err and "left out" in zenml.err
    assert "export ZENPROVISION_STACK=dev" in cli("output", "dev", "--format", "env").out
    assert json.loads(cli("output", "dev", "--format", "metaflow").out)["METAFLOW_DEFAULT_DATASTORE"] == "s3"
    assert cli("output", "dev", "--format", "terraform").code == 2


def test_zenml_version_default_is_documented_in_the_help(cli):
    assert exports.DEFAULT_ZENML_VERSION in cli("output", "--help").out


def test_a_real_aws_store_exports_its_region_and_no_endpoint():
    real = AWS.model_copy(update={"components": AWS.components.model_copy(update={
        "artifact_store": AWS.components.artifact_store.model_copy(
            update={"config": {"bucket": "zp-prod", "prefix": "/runs/", "region": "eu-west-1"}})})})
    variables = exports.env_variables(real)
    assert variables["AWS_DEFAULT_REGION"] == "eu-west-1" and "AWS_ENDPOINT_URL_S3" not in variables
    assert variables["ZENPROVISION_ARTIFACT_URI"] == "s3://zp-prod/runs"
    assert "client_kwargs" not in exports.to_zenml(real)[0]["components"]["artifact_store"]["configuration"]
    assert "METAFLOW_S3_ENDPOINT_URL" not in exports.to_metaflow(real)
