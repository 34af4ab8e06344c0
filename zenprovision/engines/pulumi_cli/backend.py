"""Which Pulumi state backend a stack lives in: the home's ``pulumi`` folder by default.

With a folder home that is a ``file://`` backend needing no login; with a bucket home
(``s3://bucket/prefix``) it is ``s3://bucket/prefix/pulumi``, so the one home setting moves
the team's records and its Pulumi state together. An explicit URL overrides it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from zenprovision import home
from zenprovision.engines.pulumi_cli import paths
from zenprovision.errors import InputError
from zenprovision.file_uris import file_uri

BACKEND_ENV = "ZENPROVISION_BACKEND"
SCHEMES = ("file", "s3", "gs", "azblob", "https")
_EXAMPLES = "s3://BUCKET, gs://BUCKET, azblob://CONTAINER, https://api.pulumi.com or file:///PATH"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")  # what Go's net/url refuses: "invalid URL escape"


def default_url() -> str:
    location = home.shared()
    if location.shared:
        return location.child("pulumi")
    if location.path is not None and location.path != home.home():  # a `home:` folder, e.g. a team mount
        return folder_url(location.path / "pulumi" / "state")
    return folder_url(paths.state_dir())


def folder_url(folder: Path) -> str:
    """The ``file://`` backend URL of a folder, percent-encoded (RFC 8089) as ``Path.as_uri()`` writes it.

    The CLI reads the URL with Go's ``net/url`` (``local_folder``): ``file://`` and the path as
    it is (what versions before 2026-12-03 wrote) names another folder, or none, once the path
    holds '%', '#' or '?'.
    """
    return file_uri(str(folder))


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
    local_folder(url)  # a file:// URL the CLI cannot parse is refused here, in one line
    return url


def same(recorded: str, url: str) -> bool:
    """Is ``recorded`` (a stack's record) the backend ``url`` names, maybe written another way?

    Versions before 2026-12-03 wrote the default backend as ``file://`` and the path as it is:
    the stack stays where the CLI put it then (the recorded URL), never moved. Two ``file://``
    URLs naming the same folder, as the CLI reads them, are one backend too.
    """
    if recorded == url:
        return True
    if not (recorded.startswith("file://") and url.startswith("file://")):
        return False
    from urllib.parse import unquote_to_bytes

    if not _BAD_ESCAPE.search(url) and recorded == "file://" + os.fsdecode(unquote_to_bytes(url[len("file://"):])):
        return True
    try:
        return local_folder(recorded) == local_folder(url)
    except InputError:
        return False


def local_folder(url: str) -> Path | None:
    """The folder the CLI opens for a ``file://`` backend, None for a remote one.

    Read as pulumi's ``diy.massageBlobPath`` and gocloud's ``fileblob.URLOpener.OpenBucketURL``
    read it: the path ends at the first '?' (its query: ``no_tmp_dir``, ``create_dir``...) or
    '#', ``~`` is the user's home folder, and ``%XX`` is decoded (Go's ``url.URL.Path``).
    A '%' not followed by two hex digits is an InputError, as the CLI refuses it.
    """
    if not url.startswith("file://"):
        return None
    before_fragment, _, fragment = url.partition("#")
    bad = _BAD_ESCAPE.search(before_fragment.partition("?")[0]) or _BAD_ESCAPE.search(fragment)
    if bad:
        raise InputError(f"the backend URL {url!r} holds {url[bad.start():bad.start() + 3]!r}, "
                         "which is no percent-escape: Pulumi cannot read it",
                         hint="write a '%' in a folder's name as %25, a space as %20, '#' as %23 and '?' as %3F")
    from urllib.parse import unquote_to_bytes

    path = os.path.abspath(os.path.expanduser(url[len("file://"):].partition("?")[0]))
    path = os.fsdecode(unquote_to_bytes(path.partition("#")[0]))
    return Path(os.path.abspath(path))


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
    try:
        folder = local_folder(url)
    except InputError:
        folder = None
    base = str(folder) if folder is not None else url.rstrip("/")
    return f"delete the stack's lock file under {base}/.pulumi/locks/"
