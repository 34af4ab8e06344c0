"""Whole documents in the home that ``home.objects()`` names: stack configs, records, state.

Plain reads and writes, plus the two conditional writes the registry needs: ``create``
(only if absent) and ``replace`` (only if still the version read). Messages name a
document by ``where``: its file, or its URL in a bucket.
"""

from __future__ import annotations

from zenprovision import home
from zenprovision.homes.objects import Blob


def get(key: str) -> Blob | None:
    """The document with its etag (for a later ``replace``), or None."""
    return home.objects().get(key)


def read(key: str) -> bytes | None:
    blob = home.objects().get(key)
    return blob.data if blob is not None else None


def exists(key: str) -> bool:
    return home.objects().get(key) is not None


def write(key: str, data: bytes) -> str:
    """Write the document (atomically in a folder home, 0600); returns its etag."""
    return home.objects().put(key, data)


def create(key: str, data: bytes) -> str:
    """Write a new document; ``WriteConflict`` when one is there already."""
    return home.objects().put(key, data, if_none_match=True)


def replace(key: str, data: bytes, etag: str | None) -> str:
    """Write only if the document is still the version ``etag`` (None: only if there is none)."""
    store = home.objects()
    return store.put(key, data, if_none_match=etag is None, if_match=etag)


def delete(key: str) -> None:
    home.objects().delete(key)


def names(folder: str, suffix: str) -> list[str]:
    return home.objects().names(folder, suffix)


def where(key: str) -> str:
    """The document's path or URL, for messages."""
    return home.objects().location.child(key)
