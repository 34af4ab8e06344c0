"""How zenprovision starts Python for its own worker processes.

``python -m module`` puts the current folder first on the child's import path: a user's
``queue.py`` or ``concurrent.py`` in the folder they run ``provision`` from would shadow the
standard library inside the engine's worker (and run there). ``-P`` (Python 3.11+) leaves the
folder out; on 3.10 the child drops it before anything else is imported.
"""

from __future__ import annotations

import sys


def python_module_argv(module: str) -> list[str]:
    """``python -m module`` without the current folder on the child's ``sys.path``."""
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-m", module]
    return [sys.executable, "-c",
            f"import sys; del sys.path[0]; import runpy; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"]
