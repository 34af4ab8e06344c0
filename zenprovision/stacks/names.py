"""Stack names become file names, Pulumi stack names and cloud tags: keep them tame."""

from __future__ import annotations

import re

from zenprovision.errors import InputError

_STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


def is_stack_name(name: str) -> bool:
    """Could ``name`` be a stack's? A file named otherwise (``dev_old.yaml``, a copy) is not ours."""
    return bool(_STACK_NAME.match(name or "")) and not name.endswith("-") and "--" not in name


def validate_stack_name(name: str) -> str:
    if not is_stack_name(name):
        raise InputError(
            f"invalid stack name {name!r}",
            hint="use 1-40 lowercase letters, digits and single dashes, starting with a letter",
        )
    return name
