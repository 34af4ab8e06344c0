"""The ``pulumi`` engine: recipes run by the real ``pulumi`` CLI through the Automation API.

Nothing here imports ``pulumi.automation`` at module import, so that ``provision --help``
stays fast; the SDK is loaded by the engine's methods when they run. The engine module
itself is loaded on first use of ``PulumiEngine``: a command on an embedded stack that only
reads this package's ``records`` never pays for it (issue 15, item 4).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PulumiEngine"]


def __getattr__(name: str) -> Any:
    if name == "PulumiEngine":
        from zenprovision.engines.pulumi_cli.engine import PulumiEngine

        return PulumiEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
