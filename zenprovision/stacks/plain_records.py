"""Stack records read with the json module alone, for listings that must answer at once.

A record is taken here only when it is certainly one the registry's pydantic model accepts
(the shape ``registry.save`` writes); anything else returns None, and the caller reads it
through ``registry.load``, which names what is wrong. So a listing reads plain records fast
and reports a damaged one exactly as before.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from zenprovision import home
from zenprovision.errors import InputError
from zenprovision.homes import documents
from zenprovision.stacks.clock import parse_duration
from zenprovision.stacks.names import validate_stack_name

STATUSES = {"deploying", "active", "deploy-failed", "destroying", "destroy-failed", "destroyed"}
RESULTS = {"running", "succeeded", "failed"}
_RECORD_KEYS = {"name", "recipe", "engine", "env", "owner", "ttl", "created_at", "status", "operations"}
_OPERATION_KEYS = {"op", "started", "ended", "result", "error", "by", "command"}
FOLDER = "registry"
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")


def record_key(name: str) -> str:
    return f"{FOLDER}/{validate_stack_name(name)}.json"


def record_path(name: str) -> Path:
    """The record's file in a folder home (tests and tools that edit files by hand)."""
    location = home.shared()
    assert location.path is not None, "a bucket home has no file paths"
    return location.path / record_key(name)


def record_names() -> list[str]:
    """Document stems in the registry folder (not yet checked as stack names)."""
    return documents.names(FOLDER, ".json")


def read(name: str) -> dict[str, Any] | None:
    """The record of ``name`` with ``created_at`` parsed, or None when only pydantic may judge it."""
    try:
        data = documents.read(record_key(name))
    except OSError:
        return None
    return parse(data, name) if data is not None else None


def parse(data: bytes, name: str) -> dict[str, Any] | None:
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not _plain_record(record, name):
        return None
    return {"env": "dev", "owner": "", "ttl": None, "status": "deploying", "operations": [],
            **record, "created_at": _timestamp(record["created_at"])}


def expires_at(record: dict[str, Any]) -> datetime | None:
    return record["created_at"] + parse_duration(record["ttl"]) if record["ttl"] else None


def age(record: dict[str, Any], at: datetime) -> timedelta:
    return at - record["created_at"]


def _plain_record(record: Any, name: str) -> bool:
    if not isinstance(record, dict) or not _RECORD_KEYS >= record.keys() or record.get("name") != name:
        return False
    texts = all(isinstance(record.get(key, ""), str) for key in ("recipe", "engine", "env", "owner"))
    ttl = record.get("ttl")
    return (texts and "recipe" in record and "engine" in record and _timestamp(record.get("created_at")) is not None
            and (ttl is None or isinstance(ttl, str) and _duration(ttl))
            and _one_of(record.get("status", "deploying"), STATUSES)
            and isinstance(record.get("operations", []), list)
            and all(_plain_operation(op) for op in record.get("operations", [])))


def _plain_operation(op: Any) -> bool:
    if not isinstance(op, dict) or not _OPERATION_KEYS >= op.keys() or not isinstance(op.get("op"), str):
        return False
    ended = op.get("ended")
    return (_timestamp(op.get("started")) is not None and (ended is None or _timestamp(ended) is not None)
            and _one_of(op.get("result", "running"), RESULTS)
            and all(isinstance(op.get(key, ""), str) for key in ("error", "by", "command")))


def _one_of(value: Any, allowed: set[str]) -> bool:
    return isinstance(value, str) and value in allowed


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    try:  # Python 3.10's fromisoformat does not read a trailing Z, which pydantic writes for UTC
        return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None


def _duration(text: str) -> bool:
    """A ttl ``parse_duration`` takes (a form and at most 100 years); else pydantic names the field."""
    try:
        parse_duration(text)
    except InputError:
        return False
    return True
