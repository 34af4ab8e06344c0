"""Loading ``FILE[:PIPELINE]``: import the user's file and find the pipeline in it."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import linecache
import sys
from pathlib import Path

from zenprovision.errors import InputError, NotFoundError, ZenProvisionError
from zenprovision.runtime.pipelines import Pipeline


def _execute_source(module: object, path: Path) -> None:
    """Run the file's text as read now, never a ``__pycache__`` copy, and show that same text to
    ``inspect``: the step cache keys a step by its source, so the code that runs and the code
    that is hashed must be one. (A bytecode cache is trusted by mtime and size: an edit of the
    same length within the same second would run the old code under the new code's key.)"""
    source = path.read_bytes()
    code = compile(source, str(path), "exec", dont_inherit=True)
    text = importlib.util.decode_source(source)  # its coding declaration, as compile() read it
    lines = io.StringIO(text).readlines()  # only newlines end a line, as for the compiler
    linecache.cache[str(path)] = (len(text), None, lines, str(path))
    exec(code, vars(module))


def load_pipeline(target: str) -> Pipeline:
    path_text, _, wanted = target.partition(":")
    path = Path(path_text).resolve()
    if not path.is_file():
        raise NotFoundError(f"pipeline file {path_text} does not exist")
    module_name = "zenprovision_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # workers resolve steps through it
    sys.path.insert(0, str(path.parent))
    try:
        _execute_source(module, path)
    except SystemExit as exc:  # a script's exit is not a pipeline's success
        raise InputError(f"{path_text} called sys.exit({exc.code!r}) while being imported; no pipeline ran",
                         hint="put script code under `if __name__ == \"__main__\":`") from None
    except ZenProvisionError as exc:  # e.g. an invalid step name, raised where it is declared
        raise InputError(f"{path_text}: {exc.message}", hint=exc.hint) from exc
    except Exception as exc:
        raise InputError(f"{path_text} failed to import: {type(exc).__name__}: {exc}") from exc
    found = {name: value for name, value in vars(module).items() if isinstance(value, Pipeline)}
    if wanted:
        for name, value in found.items():
            if wanted in (name, value.name):
                return value
        raise NotFoundError(f"{path_text} defines no pipeline {wanted!r}",
                            hint=f"pipelines there: {', '.join(found) or 'none'}")
    if len(found) != 1:
        detail = "no @pipeline" if not found else f"several pipelines ({', '.join(sorted(found))})"
        raise InputError(f"{path_text} defines {detail}", hint="name one as FILE:PIPELINE" if found else
                         "decorate a function with @pipeline")
    return next(iter(found.values()))
