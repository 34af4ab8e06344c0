"""Whole documents under a home, read and written with the store's own compare-and-swap.

Every home, local or shared, is used through the same four calls: ``get`` (data and an
etag), ``put`` (optionally only if absent, or only if unchanged since a given etag),
``delete`` and ``names``. On S3 the conditions are ``If-None-Match: *`` and ``If-Match``
(honoured by S3 since 2024 and by the moto server); on GCS they are generation
preconditions; in a local folder a ``flock`` makes check-and-write one step. That is all
locking across machines needs: two writers can never both win a conditional write.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from zenprovision.errors import WriteConflict
from zenprovision.homes.location import Location


class Blob:
    """A document's bytes and its etag (opaque: pass it back to ``put(if_match=...)``).

    A folder's etag is the sha256 of the bytes, computed only when asked: a listing that
    never writes does not pay for hashlib.
    """

    __slots__ = ("data", "_etag")

    def __init__(self, data: bytes, etag: str | None = None) -> None:
        self.data, self._etag = data, etag

    @property
    def etag(self) -> str:
        if self._etag is None:
            self._etag = _digest(self.data)
        return self._etag

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and (self.data, self.etag) == (other.data, other.etag)

    def __hash__(self) -> int:
        return hash((self.data, self.etag))

    def __repr__(self) -> str:
        return f"Blob({len(self.data)} bytes, etag={self.etag!r})"


class Objects:
    """The interface; ``key`` is a relative path such as ``registry/dev.json``."""

    location: Location

    def get(self, key: str) -> Blob | None:
        raise NotImplementedError

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        """Write ``data``; return its new etag. ``WriteConflict`` when a condition does not hold."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def names(self, folder: str, suffix: str) -> list[str]:
        """Stems of the documents directly in ``folder`` whose names end with ``suffix``."""
        raise NotImplementedError

    def conflict(self, key: str) -> WriteConflict:
        return WriteConflict(f"{self.location.child(key)} was changed by another command at the same time",
                             hint="run the command again; it reads the new version first")


class LocalObjects(Objects):
    """A folder: atomic renames for writes, an ``flock`` so a conditional write is atomic too."""

    def __init__(self, location: Location) -> None:
        assert location.path is not None
        self.location, self.root = location, location.path

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> Blob | None:
        try:
            data = self.path(key).read_bytes()
        except FileNotFoundError:
            return None
        return Blob(data)

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        from zenprovision.atomic import atomic_write_bytes

        path = self.path(key)
        with self._guard(path, if_none_match or if_match is not None):
            if if_none_match or if_match is not None:
                current = self.get(key)
                if (if_none_match and current is not None) or (
                        if_match is not None and (current is None or current.etag != if_match)):
                    raise self.conflict(key)
            atomic_write_bytes(path, data)
        return _digest(data)

    @contextlib.contextmanager
    def _guard(self, path: Path, conditional: bool) -> Iterator[None]:
        if not conditional:
            yield
            return
        from zenprovision.home import private_dir

        private_dir(path.parent)
        fd = os.open(path.parent / ".cas.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def names(self, folder: str, suffix: str) -> list[str]:
        where = self.root / folder
        if not where.is_dir():
            return []
        return sorted(p.name[: -len(suffix)] for p in where.glob(f"*{suffix}") if not p.name.startswith("."))


def _digest(data: bytes) -> str:
    import hashlib  # about 5 ms: only for writes and conditional checks

    return hashlib.sha256(data).hexdigest()


def open_home(location: Location) -> Objects:
    """The document store of ``location``; cloud SDKs are imported only for a cloud home."""
    if location.scheme == "file":
        return LocalObjects(location)
    if location.scheme == "s3":
        from zenprovision.homes.s3 import S3Objects

        return S3Objects(location)
    from zenprovision.homes.gcs import GcsObjects

    return GcsObjects(location)
