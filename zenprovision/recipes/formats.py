"""Named formats a string config key may demand in recipe.yaml (``format: cron``).

A bad schedule or bucket URL is caught when ``-c KEY=VALUE`` is checked, before anything
is created, instead of as a Kubernetes or cloud error halfway through an apply. An empty
string is "not set" and passes every format: keys with a format default to ``""`` (off).
"""

from __future__ import annotations

import re
from collections.abc import Callable

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (lowest, highest, names) of minute, hour, day of month, month, day of week; 7 is Sunday too
CRON_FIELDS = ((0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, MONTHS), (0, 7, DAYS))
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def _number(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text.lower() in names:
        return names.index(text.lower()) + (1 if names is MONTHS else 0)
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


def _cron_item(item: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    """One comma-separated item: ``*``, ``N``, ``A-B``, each optionally ``/STEP``."""
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and 0 < int(step) <= high):
        return False
    if base == "*":
        return True
    start, dash, end = base.partition("-")
    first = _number(start, low, high, names)
    if not dash:
        return first is not None
    last = _number(end, low, high, names)
    return first is not None and last is not None and first <= last


def is_cron(value: str, macros: bool = True) -> bool:
    """Five fields (minute hour day-of-month month day-of-week) as Kubernetes CronJobs and
    GitHub Actions read them; ``@hourly`` and the like only where ``macros``."""
    text = value.strip()
    if macros and text in CRON_MACROS:
        return True
    fields = text.split()
    if len(fields) != len(CRON_FIELDS):
        return False
    return all(item and _cron_item(item, low, high, names)
               for field, (low, high, names) in zip(fields, CRON_FIELDS, strict=True) for item in field.split(","))


def split_bucket_url(value: str, scheme: str) -> tuple[str, str] | None:
    """``s3://bucket/some/prefix`` -> (bucket, ``some/prefix``); None if it is not a home zenprovision takes."""
    from zenprovision.errors import InputError
    from zenprovision.homes.location import parse

    if not value.startswith(f"{scheme}://"):
        return None
    try:
        location = parse(value)
    except InputError:
        return None
    return location.bucket, location.prefix


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KUBERNETES_MINOR = re.compile(r"1\.[1-9][0-9]*")  # what EKS takes as a cluster version: 1.35, never 1.35.1 or v1.35

FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "cron": (is_cron, "a cron schedule of five fields such as '0 * * * *' (or @hourly, @daily)"),
    "env-name": (lambda v: _ENV_NAME.fullmatch(v) is not None,
                 "an environment variable name (letters, digits and _, not starting with a digit)"),
    "s3-url": (lambda v: split_bucket_url(v, "s3") is not None, "an S3 URL such as s3://bucket/prefix"),
    "gs-url": (lambda v: split_bucket_url(v, "gs") is not None, "a GCS URL such as gs://bucket/prefix"),
    "kubernetes-minor": (lambda v: _KUBERNETES_MINOR.fullmatch(v) is not None,
                         "a Kubernetes minor version such as 1.35 (no patch, no v)"),
}


def matches(format_name: str, value: str) -> bool:
    """Does ``value`` have the named format? The empty string (not set) always does."""
    return value == "" or FORMATS[format_name][0](value)


def describe(format_name: str) -> str:
    return FORMATS[format_name][1]
