"""The four labels every cloud resource carries: what teardown and orphan sweeps rely on.

The engines hand them to the program as config in the ``zenprovision`` namespace; AWS gets
them as tags ``zenprovision:<key>``, GCP as labels ``zenprovision_<key>`` (GCP label keys
and values allow only lowercase letters, digits, ``-`` and ``_``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi

from zenprovision.stacks.labels import is_prod, normalized

KEYS = ("stack", "recipe", "env", "owner")


@dataclass(frozen=True)
class StackLabels:
    stack: str
    recipe: str
    env: str
    owner: str

    @classmethod
    def from_config(cls) -> StackLabels:
        config = pulumi.Config("zenprovision")
        return cls(
            stack=config.get("stack") or pulumi.get_stack(),
            recipe=config.get("recipe") or pulumi.get_project(),
            env=config.get("env") or "dev",
            owner=config.get("owner") or "unknown",
        )

    @property
    def is_dev(self) -> bool:
        return normalized(self.env) == "dev"

    @property
    def is_prod(self) -> bool:
        """Production gets logs, customer keys, deletion protection (see docs/recipes)."""
        return is_prod(self.env)

    def aws_tags(self, **extra: str) -> dict[str, str]:
        return {f"zenprovision:{key}": getattr(self, key) for key in KEYS} | extra

    def gcp_labels(self) -> dict[str, str]:
        return {f"zenprovision_{key}": gcp_label_value(getattr(self, key)) for key in KEYS}

    def k8s_labels(self) -> dict[str, str]:
        return {f"zenprovision.io/{key}": re.sub(r"[^A-Za-z0-9_.-]", "-", getattr(self, key))[:63].strip("-_.")
                for key in KEYS}

    def resource_name(self, suffix: str, limit: int = 63) -> str:
        """A cloud name unique per stack: ``zp-<stack>-<suffix>``, lowercase.

        Too long a name is cut and ends in a hash of the whole name, so two long stack
        names that share a beginning never get the same cloud name.
        """
        full = re.sub(r"[^a-z0-9-]", "-", f"zp-{self.stack}-{suffix}".lower())
        if len(full) <= limit:
            return full.strip("-")
        digest = hashlib.sha256(full.encode()).hexdigest()[:7]
        return f"{full[:limit - len(digest) - 1].strip('-')}-{digest}"


def gcp_label_value(value: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_-]", "_", value.lower())
    return cleaned[:63] or "none"
