"""zenprovision's rules as one Pulumi policy pack, written once as plain functions.

``POLICIES`` lists them; ``evaluate`` runs them over resources offline (embedded engine,
``provision recipe-test``), and ``zenprovision.policy.pulumi_pack`` wraps the same
functions for pulumi-policy so real previews and updates enforce them (``pack_path()``).
"""

from __future__ import annotations

from pathlib import Path

from zenprovision.policy import aws, common, gcp
from zenprovision.policy.base import Finding, Policy
from zenprovision.policy.evaluate import evaluate
from zenprovision.policy.model import Resource, Settings, Stack

PACK_NAME = "zenprovision"
POLICIES: list[Policy] = [*common.POLICIES, *aws.POLICIES, *gcp.POLICIES]


def pack_path() -> Path:
    """The policy pack folder: ``pulumi preview --policy-pack $(this path)``."""
    return Path(__file__).parent / "pack"


def pulumi_policy_packs() -> list[str]:
    """What the pulumi engine passes as ``policy_packs``: this pack, when pulumi-policy is installed.

    Without the ``policy`` extra the Pulumi CLI could not run the pack, so real deploys go
    unchecked by it (the offline plan and ``provision recipe-test`` still check).
    """
    try:
        import pulumi_policy  # noqa: F401
    except ImportError:
        return []
    return [str(pack_path())]


__all__ = ["PACK_NAME", "POLICIES", "Finding", "Policy", "Resource", "Settings", "Stack", "evaluate", "pack_path",
           "pulumi_policy_packs"]
