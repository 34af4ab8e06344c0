"""Engines run a recipe's program: ``embedded`` in-process, ``pulumi`` through the CLI."""

from __future__ import annotations

from zenprovision.engines.base import Engine, EngineEvent, Plan, ResourceChange, UpResult
from zenprovision.errors import UnsupportedError

__all__ = ["Engine", "EngineEvent", "Plan", "ResourceChange", "UpResult", "get_engine"]


def get_engine(name: str, backend: str | None = None) -> Engine:
    """The engine implementation for a recipe's ``engine:`` field.

    ``backend`` (a Pulumi state backend URL) matters only to the pulumi engine.
    """
    if name == "embedded":
        from zenprovision.engines.embedded.engine import EmbeddedEngine

        return EmbeddedEngine()
    if name == "pulumi":
        from zenprovision.engines.pulumi_cli import PulumiEngine

        return PulumiEngine(backend)
    raise UnsupportedError(f"unknown engine {name!r}", hint="recipes use engine embedded or pulumi")
