"""Which Pulumi state backend a stack lives in: the home's ``pulumi`` folder by default.

With a folder home that is a ``file://`` backend needing no login; with a bucket home
(``s3://bucket/prefix``) it is ``s3://bucket/prefix/pulumi``, so the one home setting moves
the team's records and its Pulumi state together. An explicit URL overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from zenprovision import home
from zenprovision.engines.pulumi_cli import paths
from zenprovision.errors import InputError

BACKEND_ENV = "ZENPROVISION_BACKEND"
SCHEMES = ("file", "s3", "gs", "azblob", "https")
_EXAMPLES = "s3://BUCKET, gs://BUCKET, azblob://CONTAINER, https://api.pulumi.com or file:///PATH"


def default_url() -> str:
    location = home.shared()
    if location.shared:
        return location.child("pulumi")
    if location.path is not None and location.path != home.home():  # a `home:` folder, e.g. a team mount
        return f"file://{location.path / 'pulumi' / 'state'}"
    return f"file://{paths.state_dir()}"


def is_shared(url: str) -> bool:
    """Does the backend live outside this machine (where a teammate must read its secrets too)?"""
    return not url.startswith("file://")


def resolve(explicit: str | None = None) -> str:
    """The backend URL: the argument, else ``$ZENPROVISION_BACKEND``, else the home folder."""
    given = explicit if explicit is not None else os.environ.get(BACKEND_ENV)
    if given is None or not given.strip():
        return default_url()
    return validate(given.strip())


def validate(url: str) -> str:
    """Reject URLs Pulumi cannot use as a backend, before any command runs."""
    parts = urlsplit(url)
    source = f"the backend URL {url!r}"
    if parts.scheme not in SCHEMES:
        raise InputError(f"{source} has an unsupported scheme", hint=f"use one of {_EXAMPLES}")
    if not (parts.netloc or parts.path) or (parts.scheme != "file" and not parts.netloc):
        raise InputError(f"{source} names no folder, bucket, container or host", hint=f"use one of {_EXAMPLES}")
    return url


def local_folder(url: str) -> Path | None:
    """The folder of a ``file://`` backend, None for a remote one."""
    if not url.startswith("file://"):
        return None
    return Path(url[len("file://"):]).expanduser()


def prepare(url: str) -> None:
    """Create a local backend's folder, just before a command needs it: 0700 inside the home
    whatever the umask (the CLI's own files in it are then nobody else's), as the umask gives elsewhere."""
    folder = local_folder(url)
    if folder is not None:
        home.private_dir(folder)


def describe_locks(url: str) -> str:
    """Where this backend keeps its update locks, for the recovery hint."""
    if url.startswith("https://"):
        return "run `pulumi cancel` against Pulumi Cloud"
    folder = local_folder(url)
    base = str(folder) if folder is not None else url.rstrip("/")
    return f"delete the stack's lock file under {base}/.pulumi/locks/"
