"""Stack configs in the home: one YAML document per deployed stack, ``stacks/<name>.yaml``.

The home is a folder or a bucket (``home.objects()``); messages name the file or its URL.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from zenprovision import home, yaml_loading
from zenprovision.errors import CorruptFileError, NotFoundError
from zenprovision.homes import documents
from zenprovision.stacks.config import StackConfig
from zenprovision.stacks.names import is_stack_name, validate_stack_name

FOLDER = "stacks"


def config_key(name: str) -> str:
    return f"{FOLDER}/{validate_stack_name(name)}.yaml"


def config_path(name: str) -> Path:
    """The file of a stack config in a folder home (tests and tools that edit files by hand)."""
    location = home.shared()
    assert location.path is not None, "a bucket home has no file paths"
    return location.path / config_key(name)


def where(name: str) -> str:
    """The stack config's file or URL, for messages."""
    return documents.where(config_key(name))


def exists(name: str) -> bool:
    try:
        return documents.exists(config_key(name))
    except IsADirectoryError:  # load() reports it
        return True


def load(name: str) -> StackConfig:
    """Read and validate a stack config; damage is reported with file and field."""
    key = config_key(name)
    try:
        data = documents.read(key)
    except IsADirectoryError:
        raise CorruptFileError(f"stack config {documents.where(key)} is a folder, not a file",
                               hint="move the folder out of the stacks folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"stack config {documents.where(key)} cannot be read: {type(exc).__name__}: {exc}",
                               hint="fix its permissions or remove it") from exc
    if data is None:
        raise NotFoundError(
            f"no stack named {name!r}", hint="see `provision stacks` for deployed stacks"
        )
    path = documents.where(key)
    config = parse(data, path)
    if config.name != name:  # a copied or renamed file must not act as another stack
        raise CorruptFileError(
            f"stack config {path}: field name: says {config.name!r}, but the file is stack {name!r}",
            hint=f"set name: {name} in the file, or move it to stacks/{config.name}.yaml",
        )
    return config


def parse(data: bytes, path: str) -> StackConfig:
    """Validate a stack config's bytes; ``path`` (a file or URL) names it in errors."""
    try:
        document = yaml_loading.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
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


def save(config: StackConfig) -> str:
    """Write the stack config (atomically in a folder home); returns its file or URL."""
    key = config_key(config.name)
    documents.write(key, yaml.safe_dump(config.to_document(), sort_keys=False).encode("utf-8"))
    return documents.where(key)


def remove(name: str) -> None:
    documents.delete(config_key(name))


def names() -> list[str]:
    """Stacks with a config; a file whose name is no stack name (``dev_old.yaml``, a copy) is not ours."""
    return [name for name in documents.names(FOLDER, ".yaml") if is_stack_name(name)]
