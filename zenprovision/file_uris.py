"""``file://`` URIs of local folders: written percent-encoded, read in either form.

Below every layer (stacks, engines, blocks and the runtime all read or write them): the local
artifact store's root, the local stack's folder URIs, the exports and the Pulumi backend URL.
"""

from __future__ import annotations

import os
import re

from zenprovision.errors import ArtifactStoreError

_PREFIXES = ("file://", "local://", "file:", "local:")
_AS_IS = re.compile(r"[A-Za-z0-9_.~/-]*")  # what percent-encoding leaves as it is
# A percent-encoded URI path: RFC 3986 pchars, "/" and %XX. Any other character (a space, '#',
# non-ASCII) or a lone '%' means the URI holds the path as it is, as versions before 2026-12-03 wrote it.
_ENCODED = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")


def file_uri(path: str) -> str:
    """The ``file://`` URI of an absolute POSIX path, percent-encoded (RFC 8089) as ``Path.as_uri()`` writes it."""
    if _AS_IS.fullmatch(path):
        return f"file://{path}"
    from urllib.parse import quote_from_bytes

    return "file://" + quote_from_bytes(os.fsencode(path), safe="/")


def local_path(path: str) -> str:
    """The absolute POSIX path of a path or a ``file://`` URI.

    A URI is read percent-decoded (RFC 8089, ``Path.as_uri()``), or as it is when it cannot be
    percent-encoded (it holds a space, '#', non-ASCII, a lone '%'): stacks deployed before
    2026-12-03 recorded ``file://`` and the path as it is. A URI that reads both ways (``%20`` in a
    folder's name, or an encoded space) is the folder of the two that exists, the decoded one if
    neither does; when both exist it is refused, never taken for the other (``_either``).
    """
    given, uri = path, path.startswith(_PREFIXES)
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            path = path.removeprefix(prefix)
            if prefix == "file://" and path.startswith("localhost/"):  # RFC 8089's name for this machine
                path = path.removeprefix("localhost")
            break
    raw = _absolute(path)
    if not uri or "%" not in path or not _ENCODED.fullmatch(path):
        return raw
    from urllib.parse import unquote_to_bytes

    decoded = _absolute(os.fsdecode(unquote_to_bytes(path)))
    return raw if decoded == raw or "\0" in decoded else _either(given, raw, decoded)


def _absolute(path: str) -> str:
    """What fsspec's ``LocalFileSystem._strip_protocol`` makes of a path: ``~`` and relative ones resolved."""
    if path.startswith("~"):
        path = os.path.expanduser(path)
    elif not path.startswith("/"):
        path = f"{os.getcwd()}/{'' if path == '.' else path.removeprefix('./')}"
    return path.rstrip("/") or "/"


def _either(uri: str, raw: str, decoded: str) -> str:
    raw_exists, decoded_exists = os.path.lexists(raw), os.path.lexists(decoded)
    if raw_exists and decoded_exists:
        raise ArtifactStoreError(
            f"artifact store path {uri} names two folders that both exist: {decoded!r} (percent-decoded, "
            f"as RFC 8089 reads it) and {raw!r} (as written)",
            hint="set the path to the folder itself, without file://, or move what you need out of the "
                 "other folder and remove it")
    return raw if raw_exists else decoded
