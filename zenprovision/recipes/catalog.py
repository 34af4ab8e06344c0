"""Finds recipes: built-in ones, folders on ``ZENPROVISION_RECIPES_PATH``, entry points.

A broken recipe becomes a warning, never a crash: one bad plug-in must not take the
catalog down with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

from zenprovision.errors import NotFoundError, ZenProvisionError
from zenprovision.recipes.recipe import Recipe, load_recipe

RECIPES_PATH_ENV = "ZENPROVISION_RECIPES_PATH"
ENTRY_POINT_GROUP = "zenprovision.recipes"


def builtin_dir() -> Path:
    """Built-in recipes: packaged inside the wheel, or the repository's folder."""
    package = Path(__file__).resolve().parents[1]
    shipped = package / "_stack_recipes"
    return shipped if shipped.is_dir() else package.parent / "stack_recipes"


def _recipe_folders(root: Path) -> Iterator[Path]:
    if (root / "Pulumi.yaml").exists() or (root / "recipe.yaml").exists():
        yield root
        return
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.name.startswith((".", "_")):
                yield child


class Catalog:
    """The recipes this installation can see, by name."""

    def __init__(self, extra_paths: Iterable[Path] = ()) -> None:
        self.warnings: list[str] = []
        self._recipes: dict[str, Recipe] = {}
        env_paths = [Path(p) for p in os.environ.get(RECIPES_PATH_ENV, "").split(os.pathsep) if p]
        for root in [*extra_paths, *env_paths]:
            if not root.is_dir():
                self.warnings.append(f"recipe path {root} is not a folder; skipped")
                continue
            self._add_tree(root, "path")
        self._add_entry_points()
        self._add_tree(builtin_dir(), "builtin")

    def _add_tree(self, root: Path, source: str) -> None:
        for folder in _recipe_folders(root):
            self._add(folder, source)

    def _add(self, folder: Path, source: str) -> None:
        try:
            recipe = load_recipe(folder, source)
        except ZenProvisionError as exc:
            self.warnings.append(f"skipped broken recipe {folder}: {exc.message}")
            return
        if recipe.name in self._recipes:
            kept = self._recipes[recipe.name]
            self.warnings.append(
                f"recipe {recipe.name!r} at {recipe.path} is shadowed by {kept.path}"
            )
            return
        self._recipes[recipe.name] = recipe

    def _add_entry_points(self) -> None:
        for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                target = entry.load()
                folder = Path(target() if callable(target) else target)
            except Exception as exc:  # a broken plug-in warns, never crashes
                self.warnings.append(f"skipped recipe entry point {entry.name!r}: {exc}")
                continue
            self._add_tree(folder, f"entry-point:{entry.name}")

    def names(self) -> list[str]:
        return sorted(self._recipes)

    def all(self) -> list[Recipe]:
        return [self._recipes[name] for name in self.names()]

    def get(self, name: str) -> Recipe:
        try:
            return self._recipes[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise NotFoundError(
                f"no recipe named {name!r}", hint=f"known recipes: {known}"
            ) from None
