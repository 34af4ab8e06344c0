"""``@pipeline``: a function whose step calls define the DAG; ``.run(stack=...)`` runs it."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from zenprovision.errors import PipelineDefinitionError
from zenprovision.runtime.dag import DAG, Builder

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class Pipeline:
    def __init__(self, func: Callable[..., Any], name: str | None = None) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name = name or func.__name__
        self.signature = inspect.signature(func)
        self.source_file: str | None = inspect.getsourcefile(func)

    def parameters(self, given: dict[str, Any]) -> dict[str, Any]:
        """Pipeline parameters, checked and coerced by the function's annotations."""
        unknown = sorted(set(given) - set(self.signature.parameters))
        if unknown:
            known = ", ".join(self.signature.parameters) or "none"
            raise PipelineDefinitionError(
                f"pipeline {self.name!r} has no parameter {unknown[0]!r}", hint=f"parameters: {known}"
            )
        values = {}
        for name, parameter in self.signature.parameters.items():
            if name in given:
                values[name] = _coerce(self.name, name, parameter.annotation, given[name])
            elif parameter.default is inspect.Parameter.empty:
                raise PipelineDefinitionError(f"pipeline {self.name!r} needs parameter {name!r}",
                                              hint=f"pass -p {name}=VALUE")
            else:
                values[name] = parameter.default
        return values

    def build(self, **params: Any) -> DAG:
        dag = DAG(self.name)
        with Builder(dag):
            self.func(**self.parameters(params))
        dag.validate()
        return dag

    def run(self, stack: str, cache: bool = True, **params: Any) -> Any:
        """Run on a deployed stack; returns the run's summary."""
        from zenprovision.runtime.runner import run_pipeline

        return run_pipeline(self, stack, params, cache=cache)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


def _coerce(pipeline: str, name: str, annotation: Any, value: Any) -> Any:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return value
    if isinstance(annotation, str):
        annotation = {"int": int, "float": float, "str": str, "bool": bool}.get(annotation, Any)
        if annotation is Any:
            return value
    try:
        if annotation is bool and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError(value)
            return lowered in _TRUE
        if annotation in (int, float, str) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return annotation(value)
    except ValueError:
        pass
    else:
        if not isinstance(annotation, type) or isinstance(value, annotation):
            return value
    kind = getattr(annotation, "__name__", str(annotation))
    raise PipelineDefinitionError(f"pipeline {pipeline!r}: parameter {name!r} must be {kind}, got {value!r}")


def pipeline(func: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Mark a function as a pipeline: ``@pipeline`` or ``@pipeline(name="training")``."""
    if func is None:
        return lambda f: Pipeline(f, name=name)
    return Pipeline(func, name=name)
