"""The env and owner labels: checked when given, compared normalised when read.

They become AWS tags, GCP labels and Kubernetes labels. GCP is the strictest of the three
(label values: lowercase letters, digits, ``_`` and ``-``, at most 63 characters, and it
lowercases what it is given); Kubernetes label values also start and end with a letter or
digit; AWS tag values allow all of that. A label outside these rules would read differently
in the cloud than in the stack's record, so it is refused when given. Records written before
this check may still hold ``PROD`` or ``'prod '``: every guard reads them through
``is_prod``, so such a stack stays protected.
"""

from __future__ import annotations

import re

from zenprovision.errors import InputError

_LABEL_VALUE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")
RULE = "1-63 lowercase letters, digits, '_' and '-', starting and ending with a letter or digit"


def validate_label(option: str, value: str) -> str:
    """``value`` of ``--env`` or ``--owner`` (``option``) if every cloud keeps it as given."""
    if _LABEL_VALUE.match(value):
        return value
    tame = cloud_form(value)
    example = f", e.g. {option} {tame}" if tame else ""
    raise InputError(f"invalid {option} label {value!r}", hint=f"use {RULE}{example}")


def cloud_form(value: str) -> str:
    """``value`` as a label every cloud keeps as given (``John.Doe`` -> ``john_doe``, as GCP labels
    are written); empty when nothing of it is left."""
    tame = re.sub(r"[^a-z0-9_-]+", "_", normalized(value))[:63].strip("_-")
    return tame if _LABEL_VALUE.match(tame) else ""


def check_given(env: str | None, owner: str | None) -> None:
    """``--env`` and ``--owner`` where given (None: not given, the stack's or the default)."""
    for option, value in (("--env", env), ("--owner", owner)):
        if value is not None:
            validate_label(option, value)


def normalized(value: str | None) -> str:
    """A label as the clouds compare it: surrounding spaces dropped, lowercase."""
    return (value or "").strip().lower()


def is_prod(env: str | None) -> bool:
    """The one test every prod guard uses, so a record saying ``PROD`` or ``'prod '`` is protected."""
    return normalized(env) == "prod"
