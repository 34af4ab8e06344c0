"""The clock and durations of stack ttls, in plain Python so listings need no pydantic."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

from zenprovision.errors import InputError

NOW_ENV = "ZENPROVISION_NOW"  # an injected clock for what is decided (expiry, ages): tests and what-if teardowns
_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LONGEST = timedelta(days=36525)  # 100 years: a longer ttl overflowed created_at + ttl and broke every listing


def now() -> datetime:
    """The time expiry and ages are decided at: ``$ZENPROVISION_NOW`` if set ("what if it were then?")."""
    injected = os.environ.get(NOW_ENV)
    if injected:
        try:
            at = datetime.fromisoformat(injected.replace("Z", "+00:00"))
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:  # no offset: local time or UTC? Every time it is compared with has one
            raise InputError(f"{NOW_ENV}={injected} is not an ISO time with a time zone",
                             hint=f"e.g. {NOW_ENV}=2030-01-01T00:00:00Z (UTC) or ...T00:00:00+01:00")
        return at
    return datetime.now(timezone.utc)


def recorded_now() -> datetime:
    """The time a record carries (an operation's start and end, a stack's creation): always the real one.

    ``$ZENPROVISION_NOW`` asks what a teardown would do then; a stack deployed or destroyed under it
    still happened now, and a creation time from it would move the stack's expiry by as much.
    """
    return datetime.now(timezone.utc)


def parse_duration(text: str) -> timedelta:
    """``30m``, ``8h``, ``3d``, ``2w``."""
    match = _DURATION.match((text or "").strip())
    if not match or int(match.group(1)) == 0:
        raise InputError(f"invalid duration {text!r}", hint="use a number and a unit: 30m, 8h, 3d, 2w")
    count, unit = int(match.group(1)), _UNITS[match.group(2)]
    if count > LONGEST / timedelta(**{unit: 1}):
        raise InputError(f"duration {text!r} is longer than 100 years",
                         hint="a stack that should not expire needs no ttl: leave --ttl out")
    return timedelta(**{unit: count})
