"""The stack registry on disk: one YAML stack config per deployed stack."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from zenprovision import home
from zenprovision.atomic import atomic_write_text
from zenprovision.errors import CorruptFileError, NotFoundError
from zenprovision.stacks.config import StackConfig
from zenprovision.stacks.names import validate_stack_name


def config_path(name: str) -> Path:
    return home.stacks_dir() / f"{validate_stack_name(name)}.yaml"


def exists(name: str) -> bool:
    return config_path(name).exists()


def load(name: str) -> StackConfig:
    """Read and validate a stack config; damage is reported with file and field."""
    path = config_path(name)
    if not path.exists():
        raise NotFoundError(
            f"no stack named {name!r}", hint="see `provision stacks` for deployed stacks"
        )
    config = load_file(path)
    if config.name != name:  # a copied or renamed file must not act as another stack
        raise CorruptFileError(
            f"stack config {path}: field name: says {config.name!r}, but the file is stack {name!r}",
            hint=f"set name: {name} in the file, or move it to stacks/{config.name}.yaml",
        )
    return config


def load_file(path: Path) -> StackConfig:
    if path.is_dir():
        raise CorruptFileError(f"stack config {path} is a folder, not a file",
                               hint="move the folder out of the stacks folder")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"stack config {path} cannot be read: {type(exc).__name__}: {exc}",
                               hint="fix its permissions or remove it") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CorruptFileError(
            f"stack config {path} is not valid YAML{where}",
            hint="fix the file by hand or remove it; zenprovision will not overwrite it",
        ) from exc
    if not isinstance(document, dict):
        raise CorruptFileError(
            f"stack config {path} is not a mapping",
            hint="fix the file by hand or remove it; zenprovision will not overwrite it",
        )
    try:
        return StackConfig.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise CorruptFileError(
            f"stack config {path}: field {field}: {first['msg']}",
            hint="fix the file by hand or remove it; zenprovision will not overwrite it",
        ) from exc


def save(config: StackConfig) -> Path:
    path = config_path(config.name)
    text = yaml.safe_dump(config.to_document(), sort_keys=False)
    atomic_write_text(path, text)
    return path


def remove(name: str) -> None:
    config_path(name).unlink(missing_ok=True)


def names() -> list[str]:
    folder = home.stacks_dir()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob("*.yaml") if not path.name.startswith("."))
