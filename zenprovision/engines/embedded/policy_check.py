"""The policy pack over an offline plan: the same functions Pulumi runs, on the planned resources."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zenprovision.engines.embedded.ops import Registration
from zenprovision.engines.embedded.values import PROVIDER_KEY, reveal


def findings(registered: Iterable[Registration], labels: dict[str, str], config: dict[str, Any]) -> list[dict]:
    """Violations of the zenprovision pack, judged as a preview would: unknown values are skipped."""
    from zenprovision.policy import Resource, Settings, evaluate

    force_destroy = config.get("force_destroy")
    settings = Settings(env=labels.get("env"), labels=dict(labels),
                        force_destroy=None if force_destroy is None else str(force_destroy))
    resources = [Resource(r.type, r.name, r.urn, reveal({k: v for k, v in r.inputs.items() if k != PROVIDER_KEY}),
                          protect=r.protect, retain_on_delete=r.retain_on_delete,
                          dependencies=tuple(r.dependencies), parent=r.parent) for r in registered]
    return [f.to_dict() for f in evaluate(resources, settings)]
