"""The artifact store contract, implemented once over fsspec for every flavor.

A flavor only says how to build its filesystem and root (``_filesystem``); reads, writes,
listing and the reachability check are shared. Writes are atomic: on object stores an
object appears only when its upload completes; the local flavor renames a temp file.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from typing import Any

from zenprovision.errors import ArtifactStoreError

# ``check`` writes ``atomic.temp_name(PROBE)`` in the root: it names its writer, so a probe that a
# kill -9 left is told from a live check's and removed by a later check (``is_stale_temp``).
PROBE = ".zenprovision-probe"


class BaseArtifactStore(ABC):
    """Bytes under relative paths below the store's root URI."""

    flavor: str = ""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)
        self._fs = None

    @abstractmethod
    def _filesystem(self) -> tuple[Any, str]:
        """The fsspec filesystem and the root path inside it."""

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """Where the store lives, for error messages (never credentials)."""

    @property
    def fs(self):
        if self._fs is None:
            self._fs, self._root = self._filesystem()
        return self._fs

    @property
    def root(self) -> str:
        self.fs  # noqa: B018 - builds the filesystem and root
        return self._root

    def path(self, relpath: str) -> str:
        """The full path of ``relpath``; never outside the root, whatever a name or meta.json says."""
        cleaned = posixpath.normpath(relpath.lstrip("/")) if relpath else "."
        if cleaned == ".." or cleaned.startswith("../") or "\0" in relpath:
            raise ArtifactStoreError(
                f"artifact path {relpath!r} leads outside the artifact store {self.endpoint}",
                hint="step and pipeline names and artifact files must stay inside the store")
        return self.root if cleaned == "." else posixpath.join(self.root, cleaned)

    def uri(self, relpath: str) -> str:
        return self.fs.unstrip_protocol(self.path(relpath))

    def check(self, timeout: float = 10.0) -> None:
        """Fail early, naming the endpoint, when the store cannot be reached or used.

        Then remove the probes of earlier checks killed before they removed theirs.
        """
        from zenprovision.atomic import is_stale_temp, temp_name

        probe = self.path(temp_name(PROBE))
        try:
            self._call(timeout, "pipe_file", probe, b"ok")
            self._call(timeout, "rm", probe)
        except Exception as exc:
            raise ArtifactStoreError(
                f"artifact store {self.endpoint} is unreachable: {type(exc).__name__}: {exc}",
                hint="check the stack's artifact store (provision output STACK) and your credentials",
            ) from exc
        try:
            found = self._call(timeout, "find", self.root, maxdepth=1, prefix=PROBE)
            stale = [path for path in found if is_stale_temp(posixpath.basename(path))]
            if stale:
                self._call(timeout, "rm", stale)
        except Exception:  # it only tidies: a store that can be written but not listed still works
            pass

    def _call(self, timeout: float, method: str, *args: Any, **kwargs: Any) -> Any:
        """``fs.<method>(...)``, given up after ``timeout`` on an async filesystem: client
        libraries retry for half a minute; a health check must not."""
        if getattr(self.fs, "async_impl", False):
            from fsspec.asyn import sync

            return sync(self.fs.loop, getattr(self.fs, f"_{method}"), *args, timeout=timeout, **kwargs)
        return getattr(self.fs, method)(*args, **kwargs)

    def write_bytes(self, relpath: str, data: bytes, durable: bool = True) -> None:
        """Object stores publish an object only once its upload completed: atomic and durable as is.

        No ``makedirs``: on object stores it would create a mistyped bucket.
        """
        self.fs.pipe_file(self.path(relpath), data)

    def read_bytes(self, relpath: str) -> bytes:
        return self.fs.cat_file(self.path(relpath))

    def exists(self, relpath: str) -> bool:
        return self.fs.exists(self.path(relpath))

    def delete(self, relpath: str) -> None:
        target = self.path(relpath)
        if self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    def list(self, relpath: str = "") -> list[str]:
        """Relative paths of the files below ``relpath``."""
        base = self.path(relpath)
        if not self.fs.exists(base):
            return []
        root = self.fs._strip_protocol(self.root).rstrip("/") + "/"
        found = self.fs.find(base)
        return sorted(p[len(root):] if p.startswith(root) else p for p in found)
