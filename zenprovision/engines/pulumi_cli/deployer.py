"""The deploying machine's public address, handed to cloud programs so that a cluster's API,
closed to the world, stays reachable from where it is deployed.

``ZENPROVISION_DEPLOYER_CIDR`` sets it (``none`` leaves it out: CI inside the network);
else one HTTPS request to AWS's check-ip service finds it. Without it the program allows
only the configured ranges.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.request

from zenprovision.engines.pulumi_cli.config import LABEL_NAMESPACE, Setting

ENV = "ZENPROVISION_DEPLOYER_CIDR"
KEY = f"{LABEL_NAMESPACE}:deployer_cidr"
LOOKUP_URL = "https://checkip.amazonaws.com"
CLOUDS = ("aws", "gcp")


def deployer_cidr(lookup_url: str = LOOKUP_URL, timeout: float = 5.0) -> str | None:
    """``<address>/32`` (or ``/128``) of this machine as the internet sees it, or None."""
    given = os.environ.get(ENV)
    if given is not None:
        return None if given.strip().lower() in ("", "none") else given.strip()
    try:
        with urllib.request.urlopen(lookup_url, timeout=timeout) as answer:  # noqa: S310 - fixed https URL
            address = ipaddress.ip_address(answer.read(64).decode().strip())
    except (OSError, ValueError):
        return None
    return f"{address}/{address.max_prefixlen}"


def settings(cloud: str) -> dict[str, Setting]:
    """The stack config entry for cloud recipes; nothing for local ones (no lookup either)."""
    if cloud not in CLOUDS:
        return {}
    cidr = deployer_cidr()
    return {KEY: Setting(cidr)} if cidr else {}
