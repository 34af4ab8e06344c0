"""The stack registry: one record per stack, kept until its destroy has succeeded.

A record holds what the stack config does not: labels with ttl, the engine, the state
pointer and the history of operations with their results (who ran each, with which
command). It is written before an operation starts, so a stack whose first deploy was
interrupted is still known, and a failed destroy leaves it marked ``destroy-failed`` for
the next destroy to finish; a finished destroy moves it to ``history/<stack>/``.

Records live in the home (``registry/<name>.json``, a folder or a bucket). Every write of
an operation is conditional on the record being unchanged since it was read; when another
machine changed it meanwhile, the record is read again and the operation re-applied, so
no operation is ever lost.
"""

from __future__ import annotations

import getpass
import re
import socket
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from zenprovision.errors import CorruptFileError, HomeAccessError, InputError, WriteConflict
from zenprovision.homes import documents
from zenprovision.stacks import store
from zenprovision.stacks.clock import NOW_ENV, now, parse_duration, recorded_now  # noqa: F401 (the registry's clocks)
from zenprovision.stacks.names import validate_stack_name
from zenprovision.stacks.plain_records import record_key, record_names, record_path  # noqa: F401
from zenprovision.stacks.secrets import scrub_text

Status = Literal["deploying", "active", "deploy-failed", "destroying", "destroy-failed", "destroyed"]


class Operation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: str
    started: datetime
    ended: datetime | None = None
    result: Literal["running", "succeeded", "failed"] = "running"
    error: str = ""
    by: str = ""  # user@host; empty in records written before it was recorded
    command: str = ""  # the provision command that ran it: deploy, destroy, teardown, ...

    def same(self, other: Operation) -> bool:
        return (self.op, self.started, self.by) == (other.op, other.started, other.by)


class StackRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    recipe: str
    engine: str
    env: str = "dev"
    owner: str = ""
    ttl: str | None = None
    created_at: datetime
    status: Status = "deploying"
    operations: list[Operation] = Field(default_factory=list)
    _etag: str | None = PrivateAttr(default=None)  # the stored version this was read from; None: new

    @field_validator("ttl")
    @classmethod
    def _valid_ttl(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_duration(value)
            except InputError:
                raise ValueError(f"{value!r} is not a duration such as 30m, 8h, 3d or 2w") from None
        return value

    @property
    def expires_at(self) -> datetime | None:
        return self.created_at + parse_duration(self.ttl) if self.ttl else None

    def expired(self, at: datetime | None = None) -> bool:
        return self.expires_at is not None and (at or now()) >= self.expires_at

    @property
    def last(self) -> Operation | None:
        return self.operations[-1] if self.operations else None

    def age(self, at: datetime | None = None) -> timedelta:
        return (at or now()) - self.created_at


def load(name: str) -> StackRecord | None:
    """The record, remembering which version it is: a later begin/finish writes only over that one."""
    key = record_key(name)
    try:
        blob = documents.get(key)
    except OSError as exc:
        raise CorruptFileError(f"stack record {documents.where(key)} is damaged: {_first_problem(exc)}",
                               hint="fix or remove the file; zenprovision will not overwrite it") from exc
    if blob is None:
        return None
    record = parse(blob.data, documents.where(key))
    if record.name != name:  # a copied file must not act as another stack: its destroy removed that one's record
        raise CorruptFileError(f"stack record {documents.where(key)} is damaged: field name: says {record.name!r}, "
                               f"but the file is stack {name!r}",
                               hint=f"set \"name\": \"{name}\" in the file, or remove it; zenprovision will not overwrite it")
    record._etag = blob.etag
    return record


def parse(data: bytes, where: str) -> StackRecord:
    try:
        return StackRecord.model_validate_json(data)
    except (ValidationError, ValueError) as exc:
        raise CorruptFileError(f"stack record {where} is damaged: {_first_problem(exc)}",
                               hint="fix or remove the file; zenprovision will not overwrite it") from exc


def _first_problem(exc: Exception) -> str:
    """One line: the field and what is wrong with it, never pydantic's multi-line report."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            return "not valid JSON"
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        return f"field {field}: {first['msg']}"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def save(record: StackRecord) -> None:
    """Write the record as it is (no merge): for new records and tests; operations use begin/finish."""
    record._etag = documents.write(record_key(record.name), _dump(record))


def _dump(record: StackRecord) -> bytes:
    return record.model_dump_json(indent=1).encode("utf-8")


def remove(name: str) -> None:
    documents.delete(record_key(name))


def all_records() -> list[StackRecord]:
    """Every readable record; damaged ones are left out (see ``damaged``)."""
    return [r for r in (_load_quietly(name) for name in record_names()) if r is not None]


def damaged() -> dict[str, str]:
    """Stack name -> one line naming the damaged record's file and field."""
    found = {}
    for name in record_names():
        try:
            load(name)
        except CorruptFileError as exc:
            found[name] = exc.message
        except HomeAccessError:
            raise
        except InputError:  # a file name that is no stack name: not ours
            continue
    return found


def _load_quietly(name: str) -> StackRecord | None:
    try:
        return load(name)
    except HomeAccessError:
        raise
    except InputError:
        return None


def registered_names() -> set[str]:
    """Stacks that exist as far as this home knows (records, damaged or not, and stack configs)."""
    return {r.name for r in all_records()} | set(damaged()) | set(store.names())


_RETRIES = 8
_COMMAND = re.compile(r"^[a-z][a-z-]{0,30}$")


def begin(record: StackRecord, op: str, status: Status, *, by: str | None = None,
          command: str | None = None) -> StackRecord:
    """Record that ``op`` starts now (by ``user@host``, from ``command``) and set ``status``."""
    operation = Operation(op=op, started=recorded_now(), by=by or who(), command=command or current_command())

    def change(current: StackRecord) -> None:
        if not any(o.same(operation) for o in current.operations):
            current.operations.append(operation.model_copy())
        current.status = status

    return _update(record, change)


def finish(record: StackRecord, status: Status, error: str = "") -> StackRecord:
    """Close the operation ``begin`` opened on this record, and set ``status``."""
    mine = record.operations[-1].model_copy()
    mine.ended, mine.result, mine.error = recorded_now(), "failed" if error else "succeeded", scrub_text(error)[:500]

    def change(current: StackRecord) -> None:
        index = next((i for i, o in enumerate(current.operations) if o.same(mine)), None)
        if index is None:  # someone rewrote the record without it: never lose an operation
            current.operations.append(mine.model_copy())
        else:
            current.operations[index] = mine.model_copy()
        current.status = status

    return _update(record, change)


def _update(record: StackRecord, change: Callable[[StackRecord], None]) -> StackRecord:
    """Apply ``change`` and write it over the version ``record`` was read from (a new record:
    only if there is none); on a conflict re-read, re-apply, retry.

    The caller's own fields (labels, recipe, engine) win; operations and nothing else are
    taken from the stored record. The caller's object is updated in place. A record removed
    meanwhile (its stack destroyed elsewhere) is not brought back: that is an error.
    """
    key = record_key(record.name)
    change(record)
    for _ in range(_RETRIES):
        try:
            record._etag = documents.replace(key, _dump(record), record._etag)
            return record
        except WriteConflict:
            stored = load(record.name)
            if stored is None and record._etag is not None:
                raise WriteConflict(f"stack record {documents.where(key)} was removed by another command "
                                    "while this one ran", hint="see `provision stacks history "
                                    f"{record.name}`; deploy the stack again if it is still wanted") from None
            if stored is not None:
                record.operations, record._etag = stored.operations, stored._etag
            change(record)
    raise WriteConflict(f"stack record {documents.where(key)} kept changing under this command",
                        hint="another command is writing it; run this one again")


def retire(record: StackRecord) -> None:
    """After a successful destroy: close its operation and move the record into the history."""
    finish(record, "destroyed")
    archive(record)
    remove(record.name)


def history_key(name: str, at: datetime) -> str:
    return f"history/{validate_stack_name(name)}/{at.strftime('%Y%m%dT%H%M%S%fZ')}.json"


def archive(record: StackRecord) -> str:
    """Keep a copy of ``record`` under ``history/<stack>/``; never overwrites an earlier one."""
    at = (record.last.ended or record.last.started) if record.last else recorded_now()
    for _ in range(_RETRIES):
        key = history_key(record.name, at)
        try:
            documents.create(key, _dump(record))
            return key
        except WriteConflict:
            at += timedelta(microseconds=1)
    raise WriteConflict(f"could not archive stack record {record.name!r} under history/",
                        hint="run the command again")


def history(name: str, damaged: list[CorruptFileError] | None = None) -> list[StackRecord]:
    """The archived records of ``name`` (oldest first), then its current one if any.

    A damaged file raises ``CorruptFileError``; given a ``damaged`` list, it goes there instead
    and the other records are still returned: one bad file hides no one else's operations.
    """
    folder = f"history/{validate_stack_name(name)}"
    found = []
    for stem in documents.names(folder, ".json"):
        key = f"{folder}/{stem}.json"
        found += _kept(damaged, lambda key=key: _archived(key))
    return found + _kept(damaged, lambda: load(name))


def _archived(key: str) -> StackRecord | None:
    data = documents.read(key)
    return None if data is None else parse(data, documents.where(key))  # None: removed since it was listed


def _kept(damaged: list[CorruptFileError] | None, read: Callable[[], StackRecord | None]) -> list[StackRecord]:
    try:
        record = read()
    except CorruptFileError as exc:
        if damaged is None:
            raise
        damaged.append(exc)
        return []
    return [] if record is None else [record]


def who() -> str:
    """``user@host``: who ran an operation, as the record shows it to teammates."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def current_command() -> str:
    """The provision command running (``recipe``, ``destroy``, ``teardown``, ...), never its arguments."""
    words = iter(sys.argv[1:])
    for word in words:
        if word == "--home":
            next(words, None)
        elif not word.startswith("-"):
            return word if _COMMAND.match(word) else ""
    return ""
