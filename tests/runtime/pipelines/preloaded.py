"""A step that reports whether its worker inherited the import its body makes (runtime/preload.py)."""

import sys

from zenprovision import pipeline, step


@step
def saw_preload() -> bool:
    seen = "colorsys" in sys.modules
    import colorsys  # noqa: F401  - imported in the body: the run imports it before its workers fork

    return seen


@pipeline
def preloaded():
    saw_preload()
