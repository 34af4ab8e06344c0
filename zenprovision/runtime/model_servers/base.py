"""The model server contract: deploy a model by name, list what is served, predict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class BaseModelServer(ABC):
    flavor = ""
    stack = ""  # the stack served and its recipe, set by ``for_stack``: errors name them in their hints
    recipe = ""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = dict(config)

    @abstractmethod
    def deploy(self, model: Any, name: str) -> dict[str, Any]:
        """Serve ``model`` as ``name``; returns at least ``name`` and ``infer_url``."""

    @abstractmethod
    def models(self) -> list[dict[str, Any]]:
        """What is deployed: ``name``, ``state``, ``infer_url``."""

    @abstractmethod
    def predict(self, name: str, rows: list[list[float]]) -> list[Any]:
        """Ask the served model for predictions on ``rows``."""
