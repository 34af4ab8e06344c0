"""Pulumi's own checks of a project file and its stack config, for tests.

The JSON schema is Pulumi's published ``project.json`` (vendored in tests/fixtures/pulumi,
see SOURCE.md there); the rules the schema cannot express are ported line by line from
pulumi ``sdk/go/common/workspace/project.go`` (``Project.Validate``, ``ValidateConfigValue``)
and ``pkg/workspace/config.go`` (``validateStackConfigValue``), at the commit SOURCE.md names.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_FILE = Path(__file__).parent / "fixtures" / "pulumi" / "project.json"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


def project_errors(project: dict[str, Any]) -> list[str]:
    """Everything the Pulumi CLI would refuse when it loads this Pulumi.yaml (empty: accepted)."""
    found = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
             for e in _validator().iter_errors(project)]
    return found + _validate_rules(project)


def _validate_rules(project: dict[str, Any]) -> list[str]:
    """``Project.Validate``: arrays need ``items``; defaults must have the declared type."""
    name = project.get("name") or ""
    if not name:
        return ["project is missing a 'name' attribute"]
    found = []
    for key, spec in (project.get("config") or {}).items():
        if not isinstance(spec, dict):
            continue  # a bare value: the schema has already judged it
        if "default" in spec and "value" in spec:
            found.append(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        typed = "type" in spec
        if ":" not in key or key.startswith(f"{name}:"):
            if typed and spec["type"] == "array" and spec.get("items") is None:
                found.append(f"The configuration key '{key}' declares an array but does not specify the "
                             "underlying type via the 'items' attribute")
            elif typed and spec.get("default") is not None and not config_value_ok(
                    spec["type"], spec.get("items"), spec["default"]):
                found.append(f"The default value specified for configuration key '{key}' is not of the "
                             f"expected type '{spec['type']}'")
        elif typed or "default" in spec:
            found.append(f"Configuration key '{key}' is not namespaced by the project and should not define "
                         "a type or default")
    return found


def config_value_ok(type_name: str, items: dict[str, Any] | None, value: Any) -> bool:
    """``ValidateConfigValue``: what a value of each declared type may be."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False  # Go's YAML decoder never makes a bool an int
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return value == math.trunc(value)
        if isinstance(value, str):
            return _atoi(value)
        return False
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(config_value_ok(items["type"], items.get("items"), item) for item in value)


def _atoi(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isascii() and body.isdigit()


def stack_config_errors(project: dict[str, Any], stack_name: str, stored: dict[str, dict[str, Any]]) -> list[str]:
    """``validateStackConfigValue`` over a stack's config as the CLI stores it.

    ``stored`` maps ``<project>:<key>`` to ``{"value": text, "object": bool, "secure": bool}``,
    the fields of the CLI's ``config.Value``: an object value's text is JSON, a plain one's is
    the string itself.
    """
    found = []
    name = project["name"]
    for key, spec in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if not isinstance(spec, dict) or "type" not in spec or full not in stored:
            continue
        value = stored[full]
        if spec.get("secret") and not value.get("secure"):
            found.append(f"Stack '{stack_name}' with configuration key '{key}' must be encrypted as it's secret")
        content = json.loads(value["value"]) if value.get("object") else value["value"]
        if not config_value_ok(spec["type"], spec.get("items"), content):
            found.append(f"Stack '{stack_name}' with configuration key '{key}' must be of type '{spec['type']}'")
    return found
