"""One line per stack for ``provision stacks`` and ``teardown``: record and config merged.

Plain records are read with the json module (``plain_records``); the pydantic registry and
the stack configs are imported only for a record that needs them (damaged, old, renamed),
so listing many stacks stays as fast as listing none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from zenprovision.errors import CorruptFileError, HomeAccessError, InputError
from zenprovision.homes import documents
from zenprovision.stacks import plain_records
from zenprovision.stacks.clock import now
from zenprovision.stacks.labels import normalized
from zenprovision.stacks.names import is_stack_name


@dataclass(frozen=True)
class StackSummary:
    name: str
    recipe: str
    engine: str
    env: str
    owner: str
    age: timedelta
    ttl: str | None
    expired: bool
    status: str
    last_operation: str
    last_result: str
    problem: str = ""  # a damaged record or config: one line naming the file and field

    @property
    def damaged(self) -> bool:
        return bool(self.problem)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "age_seconds": int(self.age.total_seconds()), "age": format_age(self.age)}


def format_age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def summarize(name: str) -> StackSummary:
    plain = _plain(name)
    if plain is not None:
        return _plain_summary(plain)
    from zenprovision.stacks import registry, store

    record = registry.load(name)
    if record is None:  # known only by its stack config (e.g. written by an older version)
        config = store.load(name)
        record = registry.StackRecord(name=name, recipe=config.recipe, engine=config.engine, env=config.labels.env,
                                      owner=config.labels.owner, ttl=config.labels.ttl,
                                      created_at=config.created_at, status="active")
    last = record.last
    return StackSummary(
        name=name, recipe=record.recipe, engine=record.engine, env=record.env, owner=record.owner,
        age=record.age(), ttl=record.ttl, expired=record.expired(), status=record.status,
        last_operation=last.op if last else "", last_result=_seen(name, last.result) if last else "",
    )


def _plain(name: str) -> dict[str, Any] | None:
    try:
        return plain_records.read(name)
    except HomeAccessError:
        raise
    except InputError:  # not a stack name: the registry says so
        return None


def _plain_summary(record: dict[str, Any]) -> StackSummary:
    at, expires = now(), plain_records.expires_at(record)
    last = record["operations"][-1] if record["operations"] else {}
    return StackSummary(
        name=record["name"], recipe=record["recipe"], engine=record["engine"], env=record["env"],
        owner=record["owner"], age=plain_records.age(record, at), ttl=record["ttl"],
        expired=expires is not None and at >= expires, status=record["status"],
        last_operation=last.get("op", ""),
        last_result=_seen(record["name"], last.get("result", "running")) if last else "",
    )


def _seen(name: str, result: str) -> str:
    """``running`` only while a command holds the stack's lock: one killed outright (kill -9) could
    not record its end, and reads ``interrupted``. Probed only for such records: listing stays fast."""
    if result != "running":
        return result
    from zenprovision.locks import is_shared

    if not is_shared():  # an flock probe: the kernel frees the lock of a dead process at once
        from zenprovision.locks import files

        return result if files.holder(name) else "interrupted"
    from zenprovision.unlock import held_by

    return result if held_by(name) else "interrupted"


def registered_names() -> set[str]:
    """``registry.registered_names``, with plain records read without pydantic."""
    return _scan()[1]


def _scan() -> tuple[dict[str, dict[str, Any]], set[str]]:
    """(plain records by name, every registered name): each record read once, which counts on a bucket."""
    plain, others = {}, []
    for stem in plain_records.record_names():
        record = _plain(stem)
        if record is not None:
            plain[stem] = record
        else:
            others.append(stem)
    if others:
        from zenprovision.stacks import registry

        return plain, set(plain) | registry.registered_names()
    return plain, set(plain) | {n for n in documents.names("stacks", ".yaml") if is_stack_name(n)}  # as store.names()


def damaged_summary(name: str, problem: str) -> StackSummary:
    return StackSummary(name=name, recipe="", engine="", env="", owner="", age=timedelta(0), ttl=None,
                        expired=False, status="damaged", last_operation="", last_result=problem, problem=problem)


def summaries(env: str | None = None, owner: str | None = None, expired: bool = False,
              older_than: timedelta | None = None, keep_damaged: bool = True) -> list[StackSummary]:
    """Stacks matching the filters; a damaged record or config is listed as damaged, not fatal."""
    found = []
    plain, names = _scan()
    for name in sorted(names):
        try:
            summary = _plain_summary(plain[name]) if name in plain else summarize(name)
        except CorruptFileError as exc:
            if keep_damaged:
                found.append(damaged_summary(name, exc.message))
            continue
        if env and normalized(summary.env) != normalized(env) or owner and normalized(summary.owner) != normalized(owner):
            continue
        if expired and not summary.expired or older_than and summary.age < older_than:
            continue
        found.append(summary)
    return found
