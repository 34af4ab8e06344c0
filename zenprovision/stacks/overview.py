"""One line per stack for ``provision stacks`` and ``teardown``: record and config merged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from zenprovision.stacks import registry, store


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
        last_operation=last.op if last else "", last_result=last.result if last else "",
    )


def summaries(env: str | None = None, owner: str | None = None, expired: bool = False,
              older_than: timedelta | None = None) -> list[StackSummary]:
    found = []
    for name in sorted(registry.registered_names()):
        summary = summarize(name)
        if env and summary.env != env or owner and summary.owner != owner:
            continue
        if expired and not summary.expired or older_than and summary.age < older_than:
            continue
        found.append(summary)
    return found
