"""A home's address: a local folder, ``s3://bucket/prefix`` or ``gs://bucket/prefix``.

A URL is never taken for a path (``s3://b/p`` must not become the folder ``./s3:/b/p``),
and a bucket name the cloud would refuse is refused here, in one line, before any call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from zenprovision.errors import InputError

SCHEMES = {"s3": "s3", "gs": "gs", "gcs": "gs"}  # fsspec's gcs:// is the same store as gs://
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")
_MISTYPED_URL = re.compile(r"^(s3|gs|gcs):/?(?!/)", re.I)  # s3:/bucket, gs:bucket: a URL, not a folder named `s3:`


@dataclass(frozen=True)
class Location:
    """``scheme`` is ``file``, ``s3`` or ``gs``; ``path`` is set for ``file`` only."""

    scheme: str
    bucket: str = ""
    prefix: str = ""
    path: Path | None = None

    @property
    def shared(self) -> bool:
        return self.scheme != "file"

    @property
    def url(self) -> str:
        if self.path is not None:
            return str(self.path)
        return f"{self.scheme}://{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, *parts: str) -> str:
        """``bucket/prefix/part/...``: the fsspec path of a document under this home."""
        return "/".join(p for p in (self.bucket, self.prefix, *parts) if p)

    def child(self, name: str) -> str:
        """The URL of a folder under this home (e.g. the pulumi backend ``.../pulumi``)."""
        return f"{self.url}/{name}"

    def __str__(self) -> str:
        return self.url


def parse(text: str, source: str = "ZENPROVISION_HOME") -> Location:
    """A Location from a folder or a URL; unknown schemes and invalid buckets are refused."""
    text = text.strip()
    if not text:
        raise InputError(f"{source} is empty", hint="give a folder, s3://bucket/prefix or gs://bucket/prefix")
    match = _URL.match(text)
    if match is None:
        typo = _MISTYPED_URL.match(text)
        if typo:
            scheme = typo.group(1).lower()
            raise InputError(f"{source}={text} is neither a folder nor a URL",
                             hint=f"a bucket home is {scheme}://bucket/prefix, with two slashes; "
                                  f"a folder named {typo.group(0).rstrip('/')!r} needs ./ in front")
        return Location("file", path=Path(text).expanduser().resolve())
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme == "file":
        return Location("file", path=Path(rest or "/").expanduser().resolve())
    if scheme not in SCHEMES:
        raise InputError(f"{source}={text}: {scheme}:// is not a supported home",
                         hint="use a local folder, s3://bucket/prefix or gs://bucket/prefix")
    scheme = SCHEMES[scheme]
    bucket, _, prefix = rest.partition("/")
    _check_bucket(scheme, bucket, text, source)
    return Location(scheme, bucket=bucket, prefix=_clean_prefix(prefix, text, source))


def _check_bucket(scheme: str, bucket: str, text: str, source: str) -> None:
    rule = _S3_BUCKET if scheme == "s3" else _GCS_BUCKET
    bad = (not rule.match(bucket) or ".." in bucket or _IP_ADDRESS.match(bucket)
           or (scheme == "gs" and (bucket.startswith("goog") or "google" in bucket)))
    if bad:
        kind = "an S3" if scheme == "s3" else "a GCS"
        raise InputError(
            f"{source}={text}: {bucket!r} is not {kind} bucket name",
            hint="bucket names are 3-63 lowercase letters, digits, dots and hyphens, starting and ending "
                 "with a letter or digit; give the home as " + f"{scheme}://bucket/prefix")


def _clean_prefix(prefix: str, text: str, source: str) -> str:
    parts = [p for p in prefix.split("/") if p]
    if any(p in (".", "..") for p in parts) or any(c in prefix for c in "\\?#*[]\n\r"):
        raise InputError(f"{source}={text}: the prefix {prefix!r} is not a plain folder path",
                         hint="use letters, digits, '-', '_' and '/' in the prefix, e.g. s3://bucket/team/zp")
    return "/".join(parts)
