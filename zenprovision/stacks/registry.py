"""The stack registry: one record per stack, kept until its destroy has succeeded.

A record holds what the stack config does not: labels with ttl, the engine, the state
pointer and the history of operations with their results. It is written before an
operation starts, so a stack whose first deploy was interrupted is still known, and a
failed destroy leaves it marked ``destroy-failed`` for the next destroy to finish.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zenprovision import home
from zenprovision.atomic import atomic_write_text
from zenprovision.errors import CorruptFileError, InputError
from zenprovision.stacks.clock import NOW_ENV, now, parse_duration  # noqa: F401 (the registry's clock)
from zenprovision.stacks.plain_records import record_names, record_path

Status = Literal["deploying", "active", "deploy-failed", "destroying", "destroy-failed"]


class Operation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: str
    started: datetime
    ended: datetime | None = None
    result: Literal["running", "succeeded", "failed"] = "running"
    error: str = ""


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
    path = record_path(name)
    if not path.exists():
        return None
    try:
        return StackRecord.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError, OSError) as exc:
        raise CorruptFileError(f"stack record {path} is damaged: {_first_problem(exc)}",
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
    atomic_write_text(record_path(record.name), record.model_dump_json(indent=1))


def remove(name: str) -> None:
    record_path(name).unlink(missing_ok=True)


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
        except InputError:  # a file name that is no stack name: not ours
            continue
    return found


def _load_quietly(name: str) -> StackRecord | None:
    try:
        return load(name)
    except InputError:
        return None


def registered_names() -> set[str]:
    """Stacks that exist as far as this home knows (records, damaged or not, and stack configs)."""
    configs = home.stacks_dir()
    names = {r.name for r in all_records()} | set(damaged())
    if configs.is_dir():
        names |= {p.stem for p in configs.glob("*.yaml") if not p.name.startswith(".")}
    return names


def begin(record: StackRecord, op: str, status: Status) -> StackRecord:
    record.operations.append(Operation(op=op, started=now()))
    record.status = status
    save(record)
    return record


def finish(record: StackRecord, status: Status, error: str = "") -> StackRecord:
    operation = record.operations[-1]
    operation.ended, operation.result, operation.error = now(), "failed" if error else "succeeded", error[:500]
    record.status = status
    save(record)
    return record
