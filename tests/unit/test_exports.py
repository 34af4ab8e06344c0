"""Exports for other tools: shell env, ZenML stack import, Metaflow config."""

import shlex
import subprocess
from datetime import datetime, timezone

import yaml

from zenprovision.stacks import exports, store
from zenprovision.stacks.config import StackConfig

AWS = StackConfig(
    name="dev", recipe="aws-k8s", engine="pulumi", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    components={
        "artifact_store": {"flavor": "s3", "config": {"bucket": "zp-dev-artifacts", "region": "eu-west-1",
                                                      "endpoint_url": "http://127.0.0.1:9000"}},
        "container_registry": {"flavor": "ecr", "config": {"uri": "1234.dkr.ecr.eu-west-1.amazonaws.com/zp-dev-pipelines"}},
        "orchestrator": {"flavor": "kubernetes", "config": {"cluster_name": "zp-dev-eks", "namespace": "zenprovision",
                                                            "service_account": "zenprovision-steps"}},
        "model_server": {"flavor": "kserve", "config": {"namespace": "zenprovision"}},
    },
)


def test_env_export_is_valid_shell():
    text = exports.to_env(AWS)
    script = text + 'printf "%s|%s" "$ZENPROVISION_ARTIFACT_STORE_BUCKET" "$ZENPROVISION_ORCHESTRATOR_NAMESPACE"'
    assert subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout == "zp-dev-artifacts|zenprovision"
    assert all(line.startswith("export ZENPROVISION_") for line in text.splitlines())
    assert all(len(shlex.split(line)) == 2 for line in text.splitlines())


def test_zenml_export_has_what_zenml_stack_import_reads():
    document, notes = exports.to_zenml(AWS)
    assert set(document) == {"stack_name", "zenml_version", "components"}
    assert document["stack_name"] == "dev"
    for component_type, entries in document["components"].items():
        assert isinstance(entries, list) and len(entries) == 1
        assert set(entries[0]) == {"name", "type", "flavor", "configuration"}
        assert entries[0]["type"] == component_type
    components = document["components"]
    assert components["artifact_store"][0]["flavor"] == "s3"
    assert components["artifact_store"][0]["configuration"] == {
        "path": "s3://zp-dev-artifacts", "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}
    assert components["container_registry"][0]["configuration"] == {"uri": "1234.dkr.ecr.eu-west-1.amazonaws.com"}
    assert components["orchestrator"][0]["configuration"]["kubernetes_namespace"] == "zenprovision"
    assert "model_deployer" not in components
    assert notes == ["model_server flavor 'kserve' has no ZenML flavor; left out"]


def test_metaflow_export_has_the_keys_metaflow_reads():
    config = exports.to_metaflow(AWS)
    assert config["METAFLOW_DEFAULT_DATASTORE"] == "s3"
    assert config["METAFLOW_DATASTORE_SYSROOT_S3"] == "s3://zp-dev-artifacts/metaflow"
    assert config["METAFLOW_DATATOOLS_S3ROOT"] == "s3://zp-dev-artifacts/data"
    assert config["METAFLOW_S3_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert config["METAFLOW_KUBERNETES_NAMESPACE"] == "zenprovision"
    assert config["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"] == "zenprovision-steps"


def test_cli_formats_with_a_note_on_stderr(home, cli):
    store.save(AWS)
    zenml = cli("output", "dev", "--format", "zenml")
    assert zenml.code == 0 and yaml.safe_load(zenml.out)["stack_name"] == "dev"
    assert "kserve" in zenml.err and "left out" in zenml.err
    assert cli("output", "dev", "--format", "env").out.startswith("export ZENPROVISION_STACK=dev")
    assert '"METAFLOW_DEFAULT_DATASTORE": "s3"' in cli("output", "dev", "--format", "metaflow").out
    assert cli("output", "dev", "--format", "terraform").code == 2
