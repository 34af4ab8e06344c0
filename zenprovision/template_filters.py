"""Jinja filters of the recipe template (cookiecutter loads them through ``_extensions``).

Jinja's own ``tojson`` escapes an emoji as a UTF-16 surrogate pair (``"\\ud83d\\ude80"``), which is
not a YAML escape: PyYAML refuses the file and Go's YAML reader (the Pulumi CLI's) reads U+FFFD.
``yaml_string`` quotes a value as YAML does itself, so whatever a user types reads back the same.
"""

from __future__ import annotations

from typing import Any

from jinja2.ext import Extension


def yaml_string(value: Any) -> str:
    """``value`` as one double-quoted YAML scalar on one line (non-printable characters escaped)."""
    import yaml

    dumped = yaml.safe_dump(str(value), default_style='"', allow_unicode=True, width=float("inf"))
    return dumped.removesuffix("\n...\n").rstrip("\n")


class YamlFilters(Extension):
    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters["yaml_string"] = yaml_string
