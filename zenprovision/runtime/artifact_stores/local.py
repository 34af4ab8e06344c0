"""Artifact store on the local disk (flavor ``local``), config ``{path: file:///...}``.

A step's reads and writes, and the check a run starts with, use the os module directly on
POSIX: importing fsspec costs a run about 0.1 s of CPU (issue 15). Listing and deleting go
through fsspec's LocalFileSystem, as on every other flavor.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from zenprovision.errors import ArtifactStoreError
from zenprovision.runtime.artifact_stores.base import PROBE, BaseArtifactStore

_PREFIXES = ("file://", "local://", "file:", "local:")
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
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


class LocalArtifactStore(BaseArtifactStore):
    flavor = "local"
    _mode: int | None = None  # of the files it creates: see _file_mode
    _local_root: str | None = None

    def _filesystem(self) -> tuple[Any, str]:
        from fsspec.implementations.local import LocalFileSystem

        fs = LocalFileSystem(auto_mkdir=True)
        return fs, self.root if os.sep == "/" else fs._strip_protocol(self.config["path"])

    @property
    def endpoint(self) -> str:
        return str(self.config.get("path"))

    @property
    def root(self) -> str:
        """The folder, resolved once: which of two a URI means may depend on which exists (``local_path``)."""
        if os.sep != "/":
            return super().root
        if self._local_root is None:
            self._local_root = local_path(str(self.config["path"]))
        return self._local_root

    def uri(self, relpath: str) -> str:
        return file_uri(self.path(relpath)) if os.sep == "/" else super().uri(relpath)

    def read_bytes(self, relpath: str) -> bytes:
        with open(self.path(relpath), "rb") as handle:
            return handle.read()

    def exists(self, relpath: str) -> bool:
        return os.path.exists(self.path(relpath))

    def check(self, timeout: float = 10.0) -> None:
        """A folder we can write in (made if missing), or one line naming it.

        The probe is created in place, not renamed in (``write_bytes``): its name must end as
        ``atomic.temp_name`` ends, so that what a check killed before removing it left is told
        from a live check's, and removed by a later one.
        """
        from zenprovision.atomic import remove_stale_temps, temp_name

        probe = self.path(temp_name(PROBE))
        try:
            mode = self._file_mode()
            try:
                fd = os.open(probe, _CREATE, mode)
            except FileNotFoundError:
                self._make_folders(self.root, mode)
                fd = os.open(probe, _CREATE, mode)
            try:
                os.write(fd, b"ok")
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise ArtifactStoreError(
                f"artifact store {self.endpoint} is unreachable: {type(exc).__name__}: {exc}",
                hint="check the stack's artifact store (provision output STACK) and that its folder is writable",
            ) from exc
        remove_stale_temps(self.root, PROBE)

    def _file_mode(self) -> int:
        """0600 for a store inside the home (private whatever the umask), else what the umask leaves."""
        if self._mode is None:
            from zenprovision.atomic import file_mode

            self._mode = file_mode(self.root)
        return self._mode

    @staticmethod
    def _make_folders(folder: str, mode: int) -> None:
        if mode == 0o600:
            from zenprovision.home import private_dir

            private_dir(Path(os.path.realpath(folder)))  # 0700, as the home's folders are
        else:
            os.makedirs(folder, exist_ok=True)

    def remove_stale_temps(self, relfolder: str) -> int:
        """Remove the temp files in ``relfolder`` that a writer killed between write and rename
        left: only those of processes of this machine that are gone (``atomic.is_stale_temp``)."""
        from zenprovision.atomic import remove_stale_temps

        return remove_stale_temps(self.path(relfolder))

    def write_bytes(self, relpath: str, data: bytes, durable: bool = True) -> None:
        """A local file is visible while being written: write a temp file, fsync, rename.

        ``durable=False`` skips the fsync, for a file whose loss a reader survives: a step's
        ``meta.json``, written after its fsynced data (docs/reliability.md, one sync per step).
        Folders are made only when the temp file cannot be created: a file written beside
        another (``meta.json`` beside its data) costs no ``makedirs`` (issue 15).
        """
        from zenprovision.atomic import temp_name

        target = self.path(relpath)
        temp = temp_name(target)  # names its writer: a temp file a kill -9 left is removed later
        mode = self._file_mode()
        try:
            fd = os.open(temp, _CREATE, mode)
        except FileNotFoundError:
            self._make_folders(os.path.dirname(target), mode)
            fd = os.open(temp, _CREATE, mode)
        try:
            with open(fd, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise
