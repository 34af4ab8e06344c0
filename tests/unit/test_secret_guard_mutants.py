"""The secret guard, as mutation testing showed it needs pinning down: a plaintext secret never
reaches a stack config, a stored record or an error message, and what is shown instead stays
readable (the field is named, references and plain words are kept)."""

from __future__ import annotations

import pytest

from zenprovision.stacks.secrets import (
    MASK,
    assert_no_plaintext_secret,
    is_secret_key,
    mask_secrets,
    scrub_text,
)


def refused(value, where: str = "components") -> str:
    with pytest.raises(ValueError) as caught:
        assert_no_plaintext_secret(value, where)
    return str(caught.value)


def test_a_plaintext_secret_is_refused_naming_its_full_path_but_never_its_value():
    message = refused({"db": {"settings": {"DB_Password": "hunter2"}}})
    assert message == ("components.db.settings.DB_Password holds a plaintext secret; "
                       "store a reference such as env:NAME")
    message = refused({"clusters": [{"name": "a"}, {"auth": {"api_key": "k-123"}}]}, "stack")
    assert message.startswith("stack.clusters[1].auth.api_key holds a plaintext secret")
    assert "hunter2" not in message and "k-123" not in message


def test_a_credential_anywhere_is_refused_naming_where_without_echoing_it():
    key = "AKIAABCDEFGHIJKLMNOP"
    message = refused({"env": {"extra": ["ok", f"--key={key}"]}})
    assert message == "components.env.extra[1] looks like a credential; store a reference instead"
    assert refused(f"ghp_{'a' * 36}", "value").startswith("value looks like a credential")
    # under a secret-named key a reference is fine, but the value is still looked at as a whole
    assert refused({"secrets": {"github": f"ghp_{'b' * 36}"}}).startswith("components.secrets.github ")


def test_references_empty_and_non_text_values_pass_the_guard():
    assert_no_plaintext_secret({
        "password": "env:DB_PASSWORD", "token": "VAULT:kv/ci#token", "api_key": "",
        "secret": None, "access_key": 1234, "private_key_path": "file:/run/key",
        "region": "eu-west-1", "hosts": ["a", "b"], 3: "three",
    }, "components")
    assert_no_plaintext_secret(["plain", {"name": "x"}], "components")
    assert_no_plaintext_secret("just words", "components")
    assert_no_plaintext_secret(None, "components")


def test_a_non_text_key_is_read_as_text():
    assert refused({1: {"passwd": "x"}}).startswith("components.1.passwd ")


@pytest.mark.parametrize(("key", "secret"), [("password", True), ("AWS_SECRET_ACCESS_KEY", True),
                                             ("github_token", True), ("region", False), ("name", False)])
def test_is_secret_key_answers_true_or_false(key, secret):
    assert is_secret_key(key) is secret


def test_masking_hides_secret_values_and_keeps_everything_else():
    key = "AKIAABCDEFGHIJKLMNOP"
    params = {
        "password": "hunter2", "api_token": 123456, "db_secret": {"user": "bob", "pw": "x"},
        "token": "env:GITHUB_TOKEN", "access_key": "", "private_key": None,
        "region": "eu", "lr": 0.1, "notes": f"uses {key}",
        "nested": {"passwd": "p", "keep": "k", "list": [key, "fine", {"secret": "s"}]},
        "pair": ("fine", key), "cluster": "prod",
    }
    assert mask_secrets(params, frozenset({"cluster"})) == {
        "password": MASK, "api_token": MASK, "db_secret": MASK,
        "token": "env:GITHUB_TOKEN", "access_key": "", "private_key": None,
        "region": "eu", "lr": 0.1, "notes": MASK,
        "nested": {"passwd": MASK, "keep": "k", "list": [MASK, "fine", {"secret": MASK}]},
        "pair": ["fine", MASK], "cluster": MASK,
    }
    assert params["password"] == "hunter2"  # a copy: the caller's values are untouched
    assert mask_secrets([("a", "b")]) == [["a", "b"]]
    assert mask_secrets(7) == 7 and mask_secrets(None) is None


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("login failed with password=hunter2 for bob", f"login failed with password={MASK} for bob"),
    ('KeyError: {"api_token": "abc123def", "region": "eu"}', f'KeyError: {{"api_token": "{MASK}", "region": "eu"}}'),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def", f"Authorization: Bearer {MASK}"),
    ("auth basic dXNlcjpwYXNzd29yZA== failed", f"auth basic {MASK} failed"),
    ("postgres://bob:sup3rs3cret@db:5432/x", f"postgres://bob:{MASK}@db:5432/x"),
    ("key AKIAABCDEFGHIJKLMNOP leaked", f"key {MASK} leaked"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", f"{MASK} after"),
])
def test_scrubbed_text_keeps_the_words_around_a_secret(text, scrubbed):
    assert scrub_text(text) == scrubbed


def test_given_secret_values_are_masked_longest_first_from_four_characters_on():
    values = ("hunter22", "a-hunter22-b", "xyz")  # the longer holds the shorter, and sorts before it by name
    assert scrub_text("got a-hunter22-b and hunter22, not xyz", values) == f"got {MASK} and {MASK}, not xyz"
    assert scrub_text("got abcd", frozenset({"abcd"})) == f"got {MASK}"
    assert scrub_text("no value 1234 here", (None, 1234, "")) == "no value 1234 here"  # non-text values are skipped
