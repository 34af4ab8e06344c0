"""A recipe's config schema (from ``Pulumi.yaml``) and checking ``-c KEY=VALUE`` against it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zenprovision.errors import InputError, RecipeError

TYPES = ("string", "integer", "number", "boolean", "array")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class ConfigKey:
    """One config key a recipe accepts."""

    name: str
    type: str
    description: str
    default: Any = None
    required: bool = False
    secret: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "secret": self.secret,
            "description": self.description,
        }


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


def parse_assignments(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Split ``KEY=VALUE`` strings; a pair without ``=`` is a usage error."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"config value {pair!r} is not KEY=VALUE", hint="e.g. -c workers=4")
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
    try:
        return _COERCE[key.type](raw)
    except ValueError:
        raise InputError(
            f"config key {key.name!r} of recipe {recipe!r} must be {key.type}, got {raw!r}",
            hint=f"see `provision describe {recipe}`",
        ) from None


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
    "number": float,
    "boolean": _boolean,
    "array": lambda raw: [item.strip() for item in raw.split(",") if item.strip()],
}
