"""Engines run a recipe's program: ``embedded`` in-process, ``pulumi`` through the CLI."""

from __future__ import annotations

from zenprovision.engines.base import Engine, EngineEvent, Plan, ResourceChange, UpResult
from zenprovision.errors import UnsupportedError

__all__ = ["Engine", "EngineEvent", "Plan", "ResourceChange", "UpResult", "get_engine"]


def get_engine(name: str) -> Engine:
    """The engine implementation for a recipe's ``engine:`` field."""
    if name == "embedded":
        from zenprovision.engines.embedded.engine import EmbeddedEngine

        return EmbeddedEngine()
    raise UnsupportedError(
        f"engine {name!r} is not available in this version",
        hint="plan it offline with `provision plan NAME --stack S` or use the local recipe",
    )
