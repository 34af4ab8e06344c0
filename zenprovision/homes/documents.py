"""Whole documents in the home that ``home.objects()`` names, with their etags remembered.

A document read here and written back is written only if nobody changed it in between
(``write(..., conditional=True)``): the etag of the read is kept per process and key, and
"known to be absent" is remembered too, so a first save is create-only.
"""

from __future__ import annotations

from zenprovision import home
from zenprovision.homes.objects import Objects

_ABSENT = ""  # the remembered etag of a document known not to exist


def _etags(store: Objects) -> dict[str, str]:
    found = getattr(store, "_etags", None)
    if found is None:
        found = store._etags = {}  # type: ignore[attr-defined]
    return found


def read(key: str) -> bytes | None:
    """The document's bytes, or None; its etag is remembered for a conditional write."""
    store = home.objects()
    blob = store.get(key)
    _etags(store)[key] = blob.etag if blob is not None else _ABSENT
    return blob.data if blob is not None else None


def exists(key: str) -> bool:
    return home.objects().get(key) is not None


def write(key: str, data: bytes, *, conditional: bool = False) -> None:
    """Write the document; ``conditional``: only if unchanged since it was last read here.

    A conditional write of a document never read in this process replaces whatever is
    there (nothing is known to compare with); ``WriteConflict`` when the condition fails.
    """
    store = home.objects()
    etags = _etags(store)
    if conditional and key in etags:
        known = etags[key]
        etags[key] = store.put(key, data, if_none_match=known == _ABSENT, if_match=known or None)
    else:
        etags[key] = store.put(key, data)


def create(key: str, data: bytes) -> None:
    """Write a new document; ``WriteConflict`` when one is there already."""
    store = home.objects()
    _etags(store)[key] = store.put(key, data, if_none_match=True)


def forget(key: str) -> None:
    """Drop what is remembered of ``key``: the next conditional write re-reads first."""
    _etags(home.objects()).pop(key, None)


def delete(key: str) -> None:
    store = home.objects()
    store.delete(key)
    _etags(store)[key] = _ABSENT


def names(folder: str, suffix: str) -> list[str]:
    return home.objects().names(folder, suffix)


def where(key: str) -> str:
    """The document's path or URL, for messages."""
    return home.objects().location.child(key)
