"""Where ``provision kubeconfig -o PATH`` wrote a stack's kubeconfig, on this machine.

The path is this machine's business, never the (shared) stack config's: it is kept in
the local home, and ``provision output --format env`` sets ``KUBECONFIG`` from it while
the file is still there.
"""

from __future__ import annotations

from pathlib import Path

from zenprovision import home
from zenprovision.stacks.names import validate_stack_name


def _pointer(stack: str) -> Path:
    return home.home() / "kubeconfigs" / f"{validate_stack_name(stack)}.path"


def remember(stack: str, path: Path) -> None:
    from zenprovision.atomic import atomic_write_text

    atomic_write_text(_pointer(stack), str(path.resolve()))


def written(stack: str) -> str | None:
    """The kubeconfig file written for ``stack`` on this machine, if it still exists."""
    try:
        path = _pointer(stack).read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    return path if path and Path(path).is_file() else None
