"""Which recipe, project and backend each pulumi stack came from, so destroy and refresh can find it.

``pulumi/stacks/<stack>.json`` in the home (a folder or a bucket, beside the stack's config
and record, so a teammate's machine can destroy what this one deployed), written once the
stack exists in its backend and removed once it has been destroyed. ``work_dir`` and
``recipe_path`` are the deploying machine's; another machine uses its own (``workdir``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from zenprovision import home
from zenprovision.errors import CorruptFileError, NotFoundError
from zenprovision.homes import documents


@dataclass(frozen=True)
class StackRecord:
    stack: str
    recipe: str
    recipe_path: str
    project: str
    backend: str
    work_dir: str


def record_key(stack: str) -> str:
    return f"pulumi/stacks/{stack}.json"


def record_path(stack: str) -> Path:
    """The record's file in a folder home (tests and tools that look at it by hand)."""
    location = home.shared()
    assert location.path is not None, "a bucket home has no file paths"
    return location.path / record_key(stack)


def exists(stack: str) -> bool:
    return documents.exists(record_key(stack))


def save(record: StackRecord) -> None:
    documents.write(record_key(record.stack), (json.dumps(asdict(record), indent=2) + "\n").encode("utf-8"))


def load(stack: str) -> StackRecord:
    key = record_key(stack)
    data = documents.read(key)
    if data is None:
        raise NotFoundError(f"no pulumi stack named {stack!r}", hint="see `provision stacks`")
    try:
        record = StackRecord(**json.loads(data.decode("utf-8")))
    except (ValueError, TypeError) as exc:
        raise CorruptFileError(f"{documents.where(key)} is damaged: {exc}",
                               hint="restore it or remove it by hand") from exc
    if record.stack != stack:  # a copy: destroying it would destroy the Pulumi stack it names
        raise CorruptFileError(f"{documents.where(key)} is damaged: field stack: says {record.stack!r}, "
                               f"but the file is stack {stack!r}",
                               hint=f"a copy of stack {record.stack!r}'s record: remove it (or move it back); "
                                    "zenprovision will not use it")
    return record


def remove(stack: str) -> None:
    documents.delete(record_key(stack))
