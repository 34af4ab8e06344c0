from datetime import datetime, timezone

import pytest
import yaml
from pydantic import ValidationError

from zenprovision.errors import CorruptFileError, NotFoundError
from zenprovision.stacks import StackConfig, store

COMPONENTS = {
    "artifact_store": {"flavor": "local", "config": {"path": "file:///tmp/a"}},
    "orchestrator": {"flavor": "local", "config": {"workers": 2}},
    "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:1"}},
}


def make(**overrides):
    fields = dict(name="dev", recipe="local", engine="embedded",
                  created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), components=COMPONENTS)
    return StackConfig(**{**fields, **overrides})


def test_round_trip_through_the_registry(home):
    config = make()
    where = store.save(config)  # a path, or a URL on a bucket home: what the user is told
    assert where == str(home / "stacks" / "dev.yaml")
    document = yaml.safe_load((home / "stacks" / "dev.yaml").read_text())
    assert document["apiVersion"] == "zenprovision/v1"
    assert store.load("dev") == config
    assert store.names() == ["dev"]


def test_frozen_and_strict():
    config = make()
    with pytest.raises(ValidationError):
        config.name = "other"
    with pytest.raises(ValidationError):
        make(surprise=1)
    with pytest.raises(ValidationError):
        make(components={**COMPONENTS, "artifact_store": {"flavor": "s3", "config": {}, "x": 1}})
    with pytest.raises(ValidationError):
        make(components={k: v for k, v in COMPONENTS.items() if k != "orchestrator"})


def test_optional_container_registry_is_accepted():
    registry = {"flavor": "ecr", "config": {"uri": "123.dkr.ecr.eu-west-1.amazonaws.com/x"}}
    config = make(components={**COMPONENTS, "container_registry": registry})
    assert config.components.container_registry.flavor == "ecr"


@pytest.mark.parametrize("config", [
    {"password": "hunter2"},
    {"aws_secret_access_key": "abc"},
    {"note": "AKIAABCDEFGHIJKLMNOP"},
    {"key": "-----BEGIN RSA PRIVATE KEY-----\nabc"},
    {"endpoint_url": "http://minio:minio123@127.0.0.1:9000"},  # exported as-is by output --format env/zenml
    {"endpoints": ["https://user:p%40ss@s3.internal"]},
])
def test_plaintext_secrets_are_refused(config):
    components = {**COMPONENTS, "artifact_store": {"flavor": "s3", "config": config}}
    with pytest.raises(ValidationError, match="secret|credential"):
        make(components=components)


def test_secret_references_are_allowed():
    components = {**COMPONENTS, "artifact_store": {"flavor": "s3", "config": {"secret_key": "env:AWS_SECRET"}}}
    assert make(components=components).components.artifact_store.config["secret_key"] == "env:AWS_SECRET"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000", "http://minio@127.0.0.1:9000", "s3://bucket/a:b@c",
                                 "postgresql://db.internal:5432/zp"])
def test_urls_without_a_password_are_allowed(url):
    components = {**COMPONENTS, "artifact_store": {"flavor": "s3", "config": {"endpoint_url": url}}}
    assert make(components=components).components.artifact_store.config["endpoint_url"] == url


def test_hand_broken_file_names_file_and_field(home):
    store.save(make())
    path = home / "stacks" / "dev.yaml"
    document = yaml.safe_load(path.read_text())
    document["components"]["orchestrator"].pop("flavor")
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CorruptFileError) as caught:
        store.load("dev")
    assert str(path) in caught.value.message
    assert "components.orchestrator.flavor" in caught.value.message


def test_invalid_yaml_is_reported_with_its_line(home):
    path = home / "stacks" / "dev.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("name: dev\ncomponents: [unclosed\n")
    with pytest.raises(CorruptFileError, match="line"):
        store.load("dev")


def test_missing_stack(home):
    with pytest.raises(NotFoundError, match="no stack named 'nope'"):
        store.load("nope")
