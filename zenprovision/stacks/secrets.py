"""Guard against plaintext secrets in stack configs: only references may appear."""

from __future__ import annotations

import re
from typing import Any

_SECRET_KEY = re.compile(r"(password|passwd|secret|token|private_key|access_key|api_key)", re.I)
_REFERENCE = re.compile(r"^(env|file|secret|vault|awssm|gcpsm|pulumi):", re.I)
_SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|ghp_[A-Za-z0-9]{36}|xox[bp]-)"
)


def assert_no_plaintext_secret(value: Any, where: str) -> None:
    """Raise ``ValueError`` naming the field if a secret-looking value is not a reference."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}"
            if _SECRET_KEY.search(str(key)) and isinstance(item, str) and item:
                if not _REFERENCE.match(item):
                    raise ValueError(
                        f"{path} holds a plaintext secret; store a reference such as env:NAME"
                    )
            assert_no_plaintext_secret(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_no_plaintext_secret(item, f"{where}[{index}]")
    elif isinstance(value, str) and _SECRET_VALUE.search(value):
        raise ValueError(f"{where} looks like a credential; store a reference instead")
    elif isinstance(value, str) and _URL_PASSWORD.search(value):  # http://minio:minio123@host:9000
        raise ValueError(f"{where} holds a password in a URL (a credential); give the URL without it and "
                         "the credentials through the environment or a reference such as env:NAME")


MASK = "[secret]"


def is_secret_key(key: str) -> bool:
    """Names the guard treats as secrets: ``password``, ``api_token``, ``aws_secret_access_key``."""
    return bool(_SECRET_KEY.search(str(key)))


def mask_secrets(value: Any, secret_keys: frozenset[str] = frozenset()) -> Any:
    """A copy safe to store or print: secret-named keys (and ``secret_keys``) and
    credential-looking strings masked; references such as ``env:NAME`` kept."""
    if isinstance(value, dict):
        return {key: (_mask_one(item) if key in secret_keys or is_secret_key(key) else mask_secrets(item))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        return MASK
    return value


def _mask_one(value: Any) -> Any:
    if isinstance(value, str) and _REFERENCE.match(value):
        return value
    return MASK if value not in (None, "") else value


_CREDENTIAL = re.compile(
    r"AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|xox[bp]-[A-Za-z0-9-]+"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[\s\S]*)"
)
_SECRET_PAIR = re.compile(  # password=hunter2, "api_token": "abc", aws_secret_access_key: xyz
    r"(?i)([A-Za-z0-9_.-]*(?:password|passwd|secret|token|private_key|access_key|api_key)[A-Za-z0-9_.-]*"
    r"[\"']?\s*[=:]\s*[\"']?)(?!(?:env|file|secret|vault|awssm|gcpsm|pulumi):|\[secret\])([^\s,;\"'&})\]]+)")
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")


def scrub_text(text: str, values: tuple[str, ...] | frozenset[str] = ()) -> str:
    """``text`` (an error message, a traceback) with secrets masked before it is stored or shown.

    Masks the given secret ``values`` wherever they appear, credential-looking strings,
    ``secret_name=value`` pairs, Authorization headers and passwords in URLs.
    """
    for value in sorted((v for v in values if isinstance(v, str) and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _CREDENTIAL.sub(MASK, text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + MASK, text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)


def scrub_values(value: Any, values: frozenset[str]) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with ``values`` masked in every string: what a
    step logged may quote a secret parameter under a key that does not look secret."""
    if isinstance(value, dict):
        return {key: scrub_values(item, values) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_values(item, values) for item in value]
    if isinstance(value, str):
        return scrub_text(value, values)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and str(value) in values:
        return MASK  # a Secret[int] logged as the number it is
    return value


def scrubbed_traceback() -> str:
    """The exception being handled, formatted as ``traceback.print_exc`` would, with secrets masked:
    its message may quote a value the user pasted (a log file must not keep it)."""
    import traceback

    return scrub_text(traceback.format_exc())

