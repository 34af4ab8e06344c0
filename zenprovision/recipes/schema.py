"""A recipe's config schema and checking ``-c KEY=VALUE`` against it.

Types, defaults and descriptions come from ``Pulumi.yaml``; ranges and choices, which
Pulumi's project schema has no place for, from the ``config:`` block of ``recipe.yaml``;
so are named formats of string keys and of each item of array keys (``format: cron``, see
``formats``). All are checked before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from zenprovision.errors import InputError, RecipeError
from zenprovision.recipes import formats

TYPES = ("string", "integer", "number", "boolean", "array")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
RULES = ("minimum", "maximum", "choices", "format")
_NUMERIC = ("integer", "number")


@dataclass(frozen=True)
class ConfigKey:
    """One config key a recipe accepts."""

    name: str
    type: str
    description: str
    default: Any = None
    required: bool = False
    secret: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    format: str | None = None  # a name in formats.FORMATS, for string keys and each item of array keys

    def to_dict(self) -> dict[str, Any]:
        rules = {name: getattr(self, name) for name in RULES if getattr(self, name) is not None}
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "secret": self.secret,
            "description": self.description,
            **{k: list(v) if k == "choices" else v for k, v in rules.items()},
        }

    def allowed(self) -> str:
        """The rule in words, e.g. ``0 to 65535`` or ``one of local, dask``."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.format is not None:
            described = formats.describe(self.format)
            return f"a comma-separated list, each item {described}" if self.type == "array" else described
        if self.minimum is not None and self.maximum is not None:
            return f"{_num(self.minimum)} to {_num(self.maximum)}"
        if self.minimum is not None:
            return f"at least {_num(self.minimum)}"
        return f"at most {_num(self.maximum)}" if self.maximum is not None else "any value"

    def violates(self, value: Any) -> bool:
        if self.choices is not None and value not in self.choices:
            return True
        if self.format is not None and isinstance(value, str):
            return not formats.matches(self.format, value.strip())
        if self.format is not None and isinstance(value, list):
            return not all(isinstance(item, str) and formats.matches(self.format, item.strip()) for item in value)
        if value is None or self.type not in _NUMERIC:
            return False
        return (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum)


def parse_schema(raw: Any, source: str) -> dict[str, ConfigKey]:
    """Turn the ``config:`` block of a Pulumi.yaml into ConfigKeys, rejecting gaps."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RecipeError(f"{source}: `config` must be a mapping of key -> schema")
    keys = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise RecipeError(f"{source}: config key {name!r} needs type and description")
        kind = spec.get("type")
        if kind not in TYPES:
            raise RecipeError(f"{source}: config key {name!r} has type {kind!r}; use one of {TYPES}")
        description = spec.get("description")
        if not description:
            raise RecipeError(f"{source}: config key {name!r} has no description")
        has_default = "default" in spec
        keys[name] = ConfigKey(
            name=name,
            type=kind,
            description=str(description),
            default=spec.get("default"),
            required=not has_default,
            secret=bool(spec.get("secret", False)),
        )
    return keys


def apply_rules(keys: dict[str, ConfigKey], raw: Any, source: str) -> dict[str, ConfigKey]:
    """Add ``minimum``/``maximum``/``choices`` from recipe.yaml; a default must obey them."""
    if raw is None:
        return keys
    if not isinstance(raw, dict):
        raise RecipeError(f"{source}: `config` must map config keys to their rules ({', '.join(RULES)})")
    ruled = dict(keys)
    for name, spec in raw.items():
        if name not in keys:
            raise RecipeError(f"{source}: config key {name!r} has rules but is not in Pulumi.yaml's config")
        ruled[name] = _ruled_key(keys[name], spec, source)
    return ruled


def _ruled_key(key: ConfigKey, spec: Any, source: str) -> ConfigKey:
    where = f"{source}: config key {key.name!r}"
    if not isinstance(spec, dict) or not spec or set(spec) - set(RULES):
        raise RecipeError(f"{where} takes only the rules {', '.join(RULES)}")
    bounds = {b: spec[b] for b in ("minimum", "maximum") if b in spec}
    if bounds and key.type not in _NUMERIC:
        raise RecipeError(f"{where} is {key.type}: minimum and maximum are for integer or number keys")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in bounds.values()):
        raise RecipeError(f"{where}: minimum and maximum must be numbers")
    choices = spec.get("choices")
    if "choices" in spec and (not isinstance(choices, list) or not choices):
        raise RecipeError(f"{where}: choices must be a non-empty list")
    named = spec.get("format")
    if "format" in spec and (key.type not in ("string", "array") or named not in formats.FORMATS):
        raise RecipeError(f"{where}: format is for string keys and each item of array keys, "
                          f"one of {', '.join(sorted(formats.FORMATS))}")
    ruled = replace(key, choices=tuple(choices) if choices else None, format=named, **bounds)
    if ruled.default is not None and ruled.violates(ruled.default):
        raise RecipeError(f"{where}: its default {ruled.default!r} is not {ruled.allowed()}")
    return ruled


def parse_assignments(pairs: tuple[str, ...] | list[str], what: str = "config value",
                      option: str = "-c") -> dict[str, str]:
    """Split ``KEY=VALUE`` strings; a pair without ``=`` is a usage error naming ``what`` it is
    and, in its hint, the ``option`` it came from (``-c`` for config, ``-p`` for parameters)."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{what} {pair!r} is not KEY=VALUE", hint=f"e.g. {option} {key.strip() or 'KEY'}=VALUE")
        values[key.strip()] = value
    return values


def resolve(schema: dict[str, ConfigKey], given: dict[str, str], recipe: str) -> dict[str, Any]:
    """Typed config values for a run: the given ones coerced, defaults for the rest."""
    unknown = sorted(set(given) - set(schema))
    if unknown:
        known = ", ".join(sorted(schema)) or "none"
        raise InputError(
            f"recipe {recipe!r} has no config key {unknown[0]!r}",
            hint=f"known keys: {known}; see `provision describe {recipe}`",
        )
    values: dict[str, Any] = {}
    for name, key in schema.items():
        if name in given:
            values[name] = coerce(key, given[name], recipe)
        elif key.required:
            raise InputError(
                f"recipe {recipe!r} needs config key {name!r} ({key.description})",
                hint=f"pass -c {name}=VALUE",
            )
        else:
            values[name] = key.default
    return values


def coerce(key: ConfigKey, raw: str, recipe: str) -> Any:
    """The typed value of ``raw``, which must also obey the key's range or choices."""
    try:
        value = _COERCE[key.type](raw)
    except ValueError:
        raise InputError(
            f"config key {key.name!r} of recipe {recipe!r} must be {key.type}, got {raw!r}",
            hint=f"see `provision describe {recipe}`",
        ) from None
    if key.violates(value):
        raise InputError(
            f"config key {key.name!r} of recipe {recipe!r} must be {key.allowed()}, got {raw!r}",
            hint=f"see `provision describe {recipe}`",
        )
    return value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _finite(raw: str) -> float:
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(raw)


_COERCE = {
    "string": str,
    "integer": int,
    "number": _finite,
    "boolean": _boolean,
    "array": lambda raw: [item.strip() for item in raw.split(",") if item.strip()],
}
