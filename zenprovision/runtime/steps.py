"""``@step``: an ordinary function that, called inside a ``@pipeline``, becomes a DAG node.

Outside a pipeline a step is just its function, so steps stay easy to unit-test.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from zenprovision.errors import PipelineDefinitionError

_NAME = re.compile(r"^\w[\w.-]{0,99}$")
_BUILDER: ContextVar[Any] = ContextVar("zenprovision_dag_builder", default=None)


def validate_name(kind: str, name: str) -> str:
    """Step and pipeline names become artifact paths and run ids: no separators, no ``..``."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise PipelineDefinitionError(
            f"invalid {kind} name {name!r}",
            hint="use up to 100 letters, digits, '_', '-' and '.', with no '/' and no '..'")
    return name


@dataclass(frozen=True)
class StepOutput:
    """A placeholder for a step's result while the pipeline is being built."""

    node_id: str

    def __repr__(self) -> str:
        return f"<output of step {self.node_id}>"

    def __iter__(self):
        raise TypeError(
            f"the output of step {self.node_id!r} cannot be unpacked while the pipeline is built; "
            "pass it whole to the next step"
        )


class Step:
    def __init__(self, func: Callable[..., Any], name: str | None = None, retries: int = 0,
                 cache: bool = True, image: str | None = None, resources: dict[str, Any] | None = None) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name = validate_name("step", name or func.__name__)
        self.retries = int(retries)
        self.cache = cache
        self.image = image  # remote orchestrators: the container image for this step
        self.resources = dict(resources or {})  # e.g. {"cpu": "2", "memory": "4Gi", "gpu": 1}
        self.signature = inspect.signature(func)

    @functools.cached_property
    def source_hash(self) -> str:
        """Changes when the step's code changes: part of the cache key."""
        try:
            source = inspect.getsource(self.func)
        except (OSError, TypeError):
            source = self.func.__code__.co_code.hex()
        return hashlib.sha256(source.encode()).hexdigest()[:16]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = _BUILDER.get()
        if builder is None:
            return self.func(*args, **kwargs)
        return builder.add(self, args, kwargs)

    def call(self, values: dict[str, Any]) -> Any:
        """Call the function with values keyed as the DAG keys them (``parts[0]`` for *args)."""
        arguments: dict[str, Any] = {}
        for name, parameter in self.signature.parameters.items():
            prefix = f"{name}["
            items = {k[len(prefix):-1]: v for k, v in values.items() if k.startswith(prefix)}
            if parameter.kind is parameter.VAR_POSITIONAL:
                arguments[name] = tuple(items[k] for k in sorted(items, key=int))
            elif parameter.kind is parameter.VAR_KEYWORD:
                arguments[name] = items
            elif name in values:
                arguments[name] = values[name]
        bound = inspect.BoundArguments(self.signature, arguments)
        return self.func(*bound.args, **bound.kwargs)

    def __reduce__(self):
        # Pickled by reference: workers find the step in its module, as the parent did.
        return _lookup_step, (self.func.__module__, self.func.__qualname__)

    def __repr__(self) -> str:
        return f"<step {self.name}>"


def _lookup_step(module: str, qualname: str) -> Step:
    import importlib

    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def step(func: Callable[..., Any] | None = None, *, name: str | None = None, retries: int = 0,
         cache: bool = True, image: str | None = None, resources: dict[str, Any] | None = None) -> Any:
    """Mark a function as a pipeline step: ``@step`` or ``@step(retries=2, resources={"gpu": 1})``."""
    options = {"name": name, "retries": retries, "cache": cache, "image": image, "resources": resources}
    if func is None:
        return lambda f: Step(f, **options)
    return Step(func, **options)
