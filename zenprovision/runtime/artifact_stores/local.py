"""Artifact store on the local disk (flavor ``local``), config ``{path: file:///...}``.

A step's reads and writes, and the check a run starts with, use the os module directly on
POSIX: importing fsspec costs a run about 0.1 s of CPU (issue 15). Listing and deleting go
through fsspec's LocalFileSystem, as on every other flavor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zenprovision.errors import ArtifactStoreError
from zenprovision.file_uris import file_uri, local_path
from zenprovision.runtime.artifact_stores.base import PROBE, BaseArtifactStore

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


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
