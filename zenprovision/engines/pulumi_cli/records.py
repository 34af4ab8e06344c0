"""Which recipe, project and backend each pulumi stack came from, so destroy and refresh can find it.

``$ZENPROVISION_HOME/pulumi/stacks/<stack>.json``, written atomically once the stack exists
in its backend and removed once it has been destroyed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from zenprovision.atomic import atomic_write_text
from zenprovision.engines.pulumi_cli import paths
from zenprovision.errors import CorruptFileError, NotFoundError


@dataclass(frozen=True)
class StackRecord:
    stack: str
    recipe: str
    recipe_path: str
    project: str
    backend: str
    work_dir: str


def record_path(stack: str) -> Path:
    return paths.records_dir() / f"{stack}.json"


def exists(stack: str) -> bool:
    return record_path(stack).is_file()


def save(record: StackRecord) -> None:
    atomic_write_text(record_path(record.stack), json.dumps(asdict(record), indent=2) + "\n")


def load(stack: str) -> StackRecord:
    path = record_path(stack)
    if not path.is_file():
        raise NotFoundError(f"no pulumi stack named {stack!r}", hint="see `provision stacks`")
    try:
        return StackRecord(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise CorruptFileError(f"{path} is damaged: {exc}", hint="restore it or remove it by hand") from exc


def remove(stack: str) -> None:
    record_path(stack).unlink(missing_ok=True)
