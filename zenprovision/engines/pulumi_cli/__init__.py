"""The ``pulumi`` engine: recipes run by the real ``pulumi`` CLI through the Automation API.

Nothing here imports ``pulumi.automation`` at module import, so that ``provision --help``
stays fast; the SDK is loaded by the engine's methods when they run.
"""

from __future__ import annotations

from zenprovision.engines.pulumi_cli.engine import PulumiEngine

__all__ = ["PulumiEngine"]
