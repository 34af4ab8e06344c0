"""pytest fixtures for recipe authors: ``pytest_plugins = ["zenprovision.testing.fixtures"]``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from zenprovision.testing.conformance import Report, check_recipe_folder


@pytest.fixture
def recipe_conformance() -> Callable[..., Report]:
    """Call with a recipe folder (and optional config); returns the report."""

    def check(folder: Path | str, **config: str) -> Report:
        return check_recipe_folder(Path(folder), config)

    return check
