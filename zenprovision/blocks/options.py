"""Config values that recipes share."""

from __future__ import annotations

from zenprovision.blocks.labels import StackLabels


def force_destroy(value: str, labels: StackLabels) -> bool:
    """``true``, ``false`` or ``auto``: auto lets destroy delete data only in env dev."""
    lowered = value.strip().lower()
    if lowered == "auto":
        return labels.is_dev
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"force_destroy must be true, false or auto, not {value!r}")
