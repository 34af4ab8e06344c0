"""Each stack's Pulumi project folder: a fresh copy of its recipe, plus its own stack settings.

The CLI writes ``Pulumi.<stack>.yaml`` (config and the secrets salt) next to ``Pulumi.yaml``.
Running in the recipe folder itself would write into the installed package, and two homes
with a stack of the same name would overwrite each other's salt; a copy per stack under the
home avoids both, and lets destroy run after the recipe is gone.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
from pathlib import Path

from zenprovision import home
from zenprovision.engines.pulumi_cli import paths
from zenprovision.errors import NotFoundError

_SKIPPED = ("__pycache__", ".venv", "venv", ".git", "*.pyc")


def is_stack_settings(name: str) -> bool:
    """``Pulumi.<stack>.yaml`` (or .yml/.json), but not the project file ``Pulumi.yaml``."""
    return name.startswith("Pulumi.") and name.count(".") >= 2


def sync(recipe_path: Path, stack: str) -> Path:
    """Make the stack's folder a copy of the recipe, keeping the stack settings already there."""
    dest = home.private_dir(paths.work_dir(stack))
    for item in dest.iterdir():
        if is_stack_settings(item.name):
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()
    shutil.copytree(recipe_path, dest, ignore=_ignore, dirs_exist_ok=True)
    _make_private(dest)
    return dest


def ensure(stack: str, work_dir: Path, recipe_path: Path) -> Path:
    """The folder for destroy, refresh and outputs; copied again from the recipe if it was lost."""
    if (work_dir / "Pulumi.yaml").is_file():
        return work_dir
    if (recipe_path / "Pulumi.yaml").is_file():
        return sync(recipe_path, stack)
    raise NotFoundError(
        f"the Pulumi project of stack {stack!r} is gone (neither {work_dir} nor {recipe_path} has a Pulumi.yaml)",
        hint="restore the recipe folder, or remove the stack with the pulumi CLI",
    )


def remove(stack: str) -> None:
    shutil.rmtree(paths.work_dir(stack), ignore_errors=True)


def _make_private(folder: Path) -> None:
    """The copy is the home's, private whatever the umask or the installed recipe's modes:
    folders 0700, files 0600 (0700 for those the owner could run)."""
    os.chmod(folder, 0o700)
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(parent, name)
            if not os.path.islink(path):  # a link's mode is its target's, which may be no copy of ours
                os.chmod(path, 0o700 if os.stat(path).st_mode & stat.S_IXUSR else 0o600)


def _ignore(_folder: str, names: list[str]) -> set[str]:
    return {name for name in names
            if is_stack_settings(name) or any(fnmatch.fnmatch(name, pattern) for pattern in _SKIPPED)}
