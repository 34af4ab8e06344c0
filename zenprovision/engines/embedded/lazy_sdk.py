"""Load only the parts of a provider SDK a program uses: the offline plan's biggest saving.

``pulumi_aws.ec2``, ``pulumi_kubernetes.core.v1`` and their siblings are packages whose
``__init__`` star-imports every resource module (ec2: 180 modules, about a second of class
building). A program uses a handful. For packages whose ``__init__`` is nothing but such
re-exports, this finder gives a module that imports the defining submodule on first access
of a name, read from each submodule's ``__all__``. The classes are the SDK's own; a package
with anything else in its ``__init__`` is imported as usual. ``ZENPROVISION_EAGER_SDK=1``
turns it off.
"""

from __future__ import annotations
import __future__

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import re
import stat
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from zenprovision.atomic import file_mode, remove_stale_temps, temp_name
from zenprovision.home import private_dir
from zenprovision.policy.sdk_layout import exported_names, star_modules

PACKAGES = re.compile(r"pulumi_(aws|gcp|kubernetes)\.")
ANNOTATIONS = __future__.annotations.compiler_flag
CACHE_TAG = "zplazy"


class LazyPackageLoader(importlib.abc.Loader):
    """Executes a re-exporting package as an index of name -> submodule, loaded on access."""

    def __init__(self, folder: Path, modules: list[str]) -> None:
        self.folder = folder
        self.modules = modules

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        index: dict[str, str] = {}
        opaque = []  # modules without __all__ export every public name: searched on a miss
        for name in self.modules:
            names = exported_names(self.folder / f"{name}.py")
            if names is None:
                opaque.append(name)
            for exported in names or ():
                index[exported] = name
        module.__getattr__ = _attribute_loader(module, self.folder, index, opaque)
        module.__dir__ = lambda: sorted(set(index) | set(vars(module)))


def _attribute_loader(module: ModuleType, folder: Path, index: dict[str, str], opaque: list[str]):
    package = module.__name__

    def load(attr: str) -> Any:
        if attr in index:
            value = getattr(importlib.import_module(f"{package}.{index[attr]}"), attr)
            setattr(module, attr, value)
            return value
        if (folder / f"{attr}.py").exists() or (folder / attr / "__init__.py").exists():
            return importlib.import_module(f"{package}.{attr}")
        for name in opaque:
            sub = importlib.import_module(f"{package}.{name}")
            if not attr.startswith("_") and hasattr(sub, attr):
                return getattr(sub, attr)
        if attr == "__all__":  # `from package import *`: everything, as the eager package gives
            return sorted(index)
        raise AttributeError(f"module {package!r} has no attribute {attr!r}")

    return load


class PostponedAnnotationsLoader(importlib.machinery.SourceFileLoader):
    """Compiles a generated SDK module as if it began with ``from __future__ import annotations``.

    Its annotations (``Optional[pulumi.Input[...]]`` on every argument, getter and TypedDict
    field) then stay strings instead of being built at import; Pulumi resolves the few it
    needs with ``typing.get_type_hints``, which reads strings. The bytecode is cached beside
    the standard one under its own tag, so ordinary imports never see it.
    """

    def source_to_code(self, data: Any, path: Any, *, _optimize: int = -1) -> Any:
        return compile(data, path, "exec", flags=ANNOTATIONS, dont_inherit=True, optimize=_optimize)

    def get_code(self, fullname: str) -> Any:
        source_path = self.get_filename(fullname)
        cache = Path(importlib.util.cache_from_source(source_path, optimization=CACHE_TAG))
        stat = os.stat(source_path)
        header = importlib.util.MAGIC_NUMBER + bytes(4) + _u32(int(stat.st_mtime)) + _u32(stat.st_size)
        try:
            data = cache.read_bytes()
            if data[:16] == header:
                return marshal.loads(data[16:])
        except (OSError, ValueError, EOFError):
            pass
        code = self.source_to_code(self.get_data(source_path), source_path)
        if not sys.dont_write_bytecode:
            _write_quietly(cache, header + marshal.dumps(code), source_path)
        return code


def _u32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "little")


def _write_quietly(path: Path, data: bytes, source: str) -> None:
    """Cache if the folder is writable; a read-only install just compiles each time.

    Never more open than what it caches, whatever the umask: a new ``__pycache__`` gets its
    package folder's mode and the file its source's (both cut by the umask, as Python's own
    bytecode is); inside the home, 0700 and 0600. The temp file is named as the home's are
    (``atomic.temp_name``), so one that a ``kill -9`` left is removed by the next write.
    """
    prefix = f".{path.name}"
    private = file_mode(path.parent) == 0o600
    temporary = path.parent / temp_name(prefix)
    try:
        _cache_folder(path.parent, private)
        mode = 0o600 if private else (stat.S_IMODE(os.stat(source).st_mode) | 0o200) & 0o666
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError:
        return
    remove_stale_temps(path.parent, f"{prefix}.tmp-")


def _cache_folder(folder: Path, private: bool) -> None:
    if folder.is_dir():
        return
    if private:
        private_dir(folder)
    else:  # os.mkdir's mode is cut by the umask, never widened by it
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, stat.S_IMODE(folder.parent.stat().st_mode))


class LazySdkFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not PACKAGES.match(fullname):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return spec
        origin = Path(spec.origin)
        modules = star_modules(origin) if spec.submodule_search_locations else None
        if modules:
            spec.loader = LazyPackageLoader(origin.parent, modules)
        else:
            spec.loader = PostponedAnnotationsLoader(fullname, spec.origin)
        return spec


def install() -> bool:
    """Put the finder first on ``sys.meta_path`` (once); False when turned off by the env."""
    if os.environ.get("ZENPROVISION_EAGER_SDK") == "1":
        return False
    if not any(isinstance(f, LazySdkFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, LazySdkFinder())
    return True
