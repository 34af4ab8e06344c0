"""Config values that recipes share."""

from __future__ import annotations

import ipaddress

import pulumi

from zenprovision.blocks.labels import StackLabels

DEPLOYER_KEY = "deployer_cidr"  # set by the pulumi engine in the zenprovision namespace


def tri_state(key: str, value: str, default: bool) -> bool:
    """``true``, ``false`` or ``auto`` (then ``default``, which depends on the env)."""
    lowered = value.strip().lower()
    if lowered == "auto":
        return default
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"{key} must be true, false or auto, not {value!r}")


def force_destroy(value: str, labels: StackLabels) -> bool:
    """``true``, ``false`` or ``auto``: auto lets destroy delete data only in env dev."""
    return tri_state("force_destroy", value, labels.is_dev)


def prod_default(key: str, value: str, labels: StackLabels) -> bool:
    """A production safeguard: ``auto`` turns it on for env prod only."""
    return tri_state(key, value, labels.is_prod)


def cidrs(key: str, values: list[str]) -> list[str]:
    """Valid CIDR blocks; an open range (``/0``) is refused: open it on purpose elsewhere."""
    found = []
    for value in values:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            raise ValueError(f"{key}: {value!r} is not a CIDR block such as 203.0.113.7/32") from None
        if network.prefixlen == 0:
            raise ValueError(f"{key}: {value!r} opens the API to the whole internet; list your own ranges")
        found.append(str(network))
    return found


def api_access_cidrs(key: str, configured: list[str]) -> list[str]:
    """Who may reach a cluster's public API: the configured ranges plus the deploying machine.

    The pulumi engine passes the deploying machine's public address as
    ``zenprovision:deployer_cidr``; without either, the API is private to the network.
    """
    deployer = pulumi.Config("zenprovision").get(DEPLOYER_KEY) or ""
    wanted = cidrs(key, list(configured)) + (cidrs(DEPLOYER_KEY, [deployer]) if deployer else [])
    return sorted(set(wanted))
