"""Guards that mutation testing showed no test would miss: numpy object arrays, the secret
guard's key pattern and list search, and the prod relabel protection."""

from __future__ import annotations

import numpy as np
import pytest

from zenprovision.errors import InputError
from zenprovision.runtime import materializers
from zenprovision.stacks.secrets import assert_no_plaintext_secret


def test_numpy_materializer_refuses_object_arrays():
    """An object array needs pickle to be stored: numpy's own format must not claim it."""
    mixed = np.array([{"a": 1}, "text", 3], dtype=object)
    assert not materializers.NumpyMaterializer().handles(mixed)
    chosen, data = materializers.serialize(mixed, "step 'x' output")
    assert chosen.name == "pickle"
    assert list(chosen.loads(data)) == [{"a": 1}, "text", 3]
    plain = np.arange(3)
    assert materializers.serialize(plain, "step 'x' output")[0].name == "numpy"


@pytest.mark.parametrize("key", ["token", "github_token", "password", "secret", "api_key", "access_key"])
def test_secret_guard_knows_every_secret_key(key):
    with pytest.raises(ValueError, match=key):
        assert_no_plaintext_secret({key: "hunter2"}, "components")
    assert_no_plaintext_secret({key: "env:NAME"}, "components")  # a reference is fine


def test_secret_guard_searches_lists():
    with pytest.raises(ValueError, match=r"components\.hosts\[1\]\.token"):
        assert_no_plaintext_secret({"hosts": [{"name": "a"}, {"token": "abc"}]}, "components")
    with pytest.raises(ValueError, match=r"components\.args\[0\]"):
        assert_no_plaintext_secret({"args": ["AKIAABCDEFGHIJKLMNOP"]}, "components")


def test_a_prod_stack_cannot_be_relabelled(home, fixture_recipes, tmp_path):
    from zenprovision import lifecycle
    from zenprovision.recipes.catalog import Catalog
    from zenprovision.stacks import registry

    record = registry.StackRecord(name="p1", recipe="files", engine="embedded", env="prod", owner="ops",
                                  created_at=registry.now(), status="active")
    registry.save(record)
    pairs = (f"dir={tmp_path / 'p1'}",)
    with pytest.raises(InputError, match="prod stack cannot be relabelled"):
        lifecycle.prepare(Catalog(), "files", "p1", pairs, env="dev")
    kept = lifecycle.prepare(Catalog(), "files", "p1", pairs)
    assert kept.labels.env == "prod" and kept.labels.owner == "ops"


@pytest.mark.parametrize(("text", "secret"), [
    ("login failed with password=hunter2 for bob", "hunter2"),
    ('KeyError: {"api_token": "abc123def", "region": "eu"}', "abc123def"),
    ("aws_secret_access_key: AbCdEf123/xyz+ok", "AbCdEf123/xyz+ok"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def", "eyJhbGciOiJIUzI1NiJ9.abc.def"),
    ("postgres://bob:sup3rs3cret@db:5432/x", "sup3rs3cret"),
    ("key AKIAABCDEFGHIJKLMNOP leaked", "AKIAABCDEFGHIJKLMNOP"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", "MIIEow"),
    ("the value s3cr3t-param-value came back", "s3cr3t-param-value"),
])
def test_error_text_is_scrubbed_of_secrets(text, secret):
    from zenprovision.stacks.secrets import scrub_text

    scrubbed = scrub_text(text, frozenset({"s3cr3t-param-value"}))
    assert secret not in scrubbed and "[secret]" in scrubbed


def test_scrubbing_keeps_references_and_plain_words():
    from zenprovision.stacks.secrets import scrub_text

    for text in ("token=env:GITHUB_TOKEN", "the token expired", "secret: file:/run/secrets/db", "a tok"):
        assert scrub_text(text, frozenset({"tok"})) == text  # values under 4 characters are not masked


def test_cli_errors_are_scrubbed(monkeypatch, capsys):
    import click

    from zenprovision.cli.output import run_guarded
    from zenprovision.errors import OperationFailed

    @click.command()
    def failing():
        raise OperationFailed("provider said: invalid password=hunter2", hint="check the secret")

    monkeypatch.setattr("sys.argv", ["provision"])
    assert run_guarded(failing) == 1
    err = capsys.readouterr().err
    assert "hunter2" not in err and "password=[secret]" in err
