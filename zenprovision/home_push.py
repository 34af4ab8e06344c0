"""``provision home push URL``: copy a folder home's shared records into another home.

What a team shares goes (stack configs, registry records, their history, the embedded
engine's state, and the pulumi ``file://`` backend); what stays on a machine does not
(locks, logs, metadata, local-recipe data, settings). Nothing newer is overwritten: a
record there whose last operation is later than ours stops the push before anything is
written, and every write is conditional on the target being as it was when compared, so a
push or deploy running at the same time elsewhere is never overwritten either. A push holds
the lock of every stack it copies: it never copies a stack a deploy or destroy is changing
here (the team would get a half-applied state and a record that reads interrupted).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from zenprovision.engines.pulumi_cli import backend as backends
from zenprovision.errors import InputError, WriteConflict
from zenprovision.homes.location import Location
from zenprovision.homes.objects import LocalObjects, Objects
from zenprovision.stacks import registry
from zenprovision.stacks.names import is_stack_name

FLAT = (("state", ".json"), ("pulumi/stacks", ".json"), ("stacks", ".yaml"), ("registry", ".json"))  # write order
PULUMI_SKIPPED = ("locks",)  # a lock held here means nothing there


@dataclass(frozen=True)
class Item:
    key: str  # relative to the target home
    source: Path
    data: bytes  # what is written (a pulumi record names the pushed backend)
    action: str  # copy (absent there), update (older there), same (identical there)
    etag: str | None  # the target's etag when compared: the write is conditional on it

    @property
    def writes(self) -> bool:
        return self.action != "same"


def stacks(source: Path) -> list[str]:
    """The stacks whose documents a push copies: the command holds each one's lock while it reads and writes."""
    local = LocalObjects(Location("file", path=source))  # a copy such as stacks/dev_old.yaml stays here
    return sorted({n for folder, suffix in FLAT for n in local.names(folder, suffix) if is_stack_name(n)})


def plan(source: Path, target: Objects) -> list[Item]:
    """Everything to copy, in a safe order (a stack's record last); InputError if anything there is newer."""
    local = LocalObjects(Location("file", path=source))
    items = [_item(f"history/{stack}/{name}.json", local, target)
             for stack in _folders(source / "history") if is_stack_name(stack)
             for name in local.names(f"history/{stack}", ".json")]
    prefix, url = _backend_in(target.location)
    moved = (source / "pulumi" / "state", url)
    for stack in stacks(source):
        newer = _ours_newer(stack, local, target)
        items += [_item(f"{folder}/{stack}{suffix}", local, target, may_update=newer, moved=moved)
                  for folder, suffix in FLAT if local.get(f"{folder}/{stack}{suffix}") is not None]
    backend = LocalObjects(Location("file", path=source / "pulumi" / "state"))
    items += [_item(key, backend, target, prefix=prefix) for key in _files(backend.root)]
    return items


def _backend_in(location: Location) -> tuple[str, str]:
    """(key prefix, URL) of the Pulumi backend a home gets by default (see ``pulumi_cli.backend``)."""
    if location.path is not None:
        return "pulumi/state/", backends.folder_url(location.path / "pulumi" / "state")
    return "pulumi/", location.child("pulumi")


def _item(key: str, local: LocalObjects, target: Objects, may_update: bool = False, prefix: str = "",
          moved: tuple[Path, str] | None = None) -> Item:
    found, theirs = local.get(key), target.get(prefix + key)
    assert found is not None
    ours = _moved(found.data, *moved) if key.startswith("pulumi/stacks/") and moved else found.data
    if theirs is None:
        return Item(prefix + key, local.path(key), ours, "copy", None)
    if theirs.data == ours:
        return Item(prefix + key, local.path(key), ours, "same", theirs.etag)
    if not may_update:
        raise InputError(f"{target.location.child(prefix + key)} exists and differs from {local.path(key)}: "
                         "not overwritten, nothing was pushed", hint="remove one of them, then push again")
    return Item(prefix + key, local.path(key), ours, "update", theirs.etag)


def _moved(data: bytes, folder: Path, url: str) -> bytes:
    """A pulumi stack record whose backend is the pushed folder points at its copy in the target.

    The folder is the one the CLI opens for the recorded URL (``backend.local_folder``): however
    the URL is written (percent-encoded, or as versions before 2026-12-03 wrote it), a record is
    moved only if its state is in what is copied.
    """
    record = json.loads(data)
    recorded = record.get("backend")
    try:
        pushed = isinstance(recorded, str) and backends.local_folder(recorded) == folder
    except InputError:  # a URL the CLI cannot read: its stack has no state here
        pushed = False
    if not pushed:
        return data
    return (json.dumps({**record, "backend": url}, indent=2) + "\n").encode("utf-8")


def _ours_newer(stack: str, local: LocalObjects, target: Objects) -> bool:
    """May this stack's documents replace the target's? Only if our record's last operation is later."""
    theirs = target.get(f"registry/{stack}.json")
    ours = local.get(f"registry/{stack}.json")
    if theirs is None or ours is None or theirs.data == ours.data:
        return False
    where = target.location.child(f"registry/{stack}.json")
    if _last_time(registry.parse(ours.data, str(local.path(f"registry/{stack}.json")))) \
            <= _last_time(registry.parse(theirs.data, where)):
        raise InputError(f"{where} is as new as or newer than this home's record of stack {stack!r}: "
                         "not overwritten, nothing was pushed",
                         hint="the stack was used from that home since; work there, or destroy it there first")
    return True


def _last_time(record: registry.StackRecord) -> datetime:
    last = record.last
    return (last.ended or last.started) if last else record.created_at


def _folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _files(root: Path) -> list[str]:
    """Files under a pulumi file backend, relative to it, without its locks and temp files."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in PULUMI_SKIPPED)
        found += [str((Path(folder) / f).relative_to(root)) for f in sorted(files) if not f.startswith(".tmp")]
    return found


def push(items: list[Item], target: Objects) -> int:
    """Write what ``plan`` found; each write only if the target is still as compared. Returns the count."""
    written = 0
    for item in (i for i in items if i.writes):
        try:
            target.put(item.key, item.data, if_none_match=item.etag is None, if_match=item.etag)
        except WriteConflict:
            raise WriteConflict(f"{target.location.child(item.key)} changed while pushing: not overwritten "
                                f"({written} document(s) were copied before it)",
                                hint="someone else is using that home; run the push again to compare anew") from None
        written += 1
    return written
