"""Kept for recipe tests that import it from here; the code lives in ``zenprovision.policy.schema``."""

from zenprovision.policy.schema import is_taggable, label_field, parameters

__all__ = ["is_taggable", "label_field", "parameters"]
