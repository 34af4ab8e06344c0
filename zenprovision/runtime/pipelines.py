"""``@pipeline``: a function whose step calls define the DAG; ``.run(stack=...)`` runs it."""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin

from zenprovision.errors import PipelineDefinitionError
from zenprovision.runtime.dag import DAG, Builder
from zenprovision.runtime.steps import validate_name

_SECRET_MARK = "zenprovision:secret"
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class Secret:
    """``api_key: Secret[str]``: a parameter the metadata store keeps masked, never in plain text."""

    def __class_getitem__(cls, item: Any) -> Any:
        return Annotated[item, _SECRET_MARK]


def is_secret_annotation(annotation: Any) -> bool:
    if isinstance(annotation, str):  # `from __future__ import annotations` in the user's file
        return annotation.replace(" ", "").startswith(("Secret[", "zenprovision.Secret["))
    return get_origin(annotation) is Annotated and _SECRET_MARK in get_args(annotation)[1:]


class Pipeline:
    def __init__(self, func: Callable[..., Any], name: str | None = None) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name = validate_name("pipeline", name or func.__name__)
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

    def secret_parameters(self) -> frozenset[str]:
        """Parameters declared ``Secret[...]``: stored masked in the metadata store."""
        return frozenset(name for name, parameter in self.signature.parameters.items()
                         if is_secret_annotation(parameter.annotation))

    def build(self, **params: Any) -> DAG:
        dag = DAG(self.name)
        with Builder(dag):
            self.func(**self.parameters(params))
        dag.validate()
        return dag

    def run(self, stack: str, cache: bool = True, in_process: bool = False, **params: Any) -> Any:
        """Run on a deployed stack; returns the run's summary. ``in_process``: as ``--in-process``."""
        from zenprovision.runtime.runner import run_pipeline

        return run_pipeline(self, stack, params, cache=cache, in_process=in_process)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


def _coerce(pipeline: str, name: str, annotation: Any, value: Any) -> Any:
    secret = is_secret_annotation(annotation)
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, str):
        annotation = re.sub(r"^(zenprovision\.)?Secret\[(.*)\]$", r"\2", annotation.replace(" ", ""))
        annotation = {"int": int, "float": float, "str": str, "bool": bool}.get(annotation, Any)
    if annotation is inspect.Parameter.empty or annotation is Any:
        return value
    try:
        return _convert(annotation, value)
    except ValueError:
        kind = getattr(annotation, "__name__", str(annotation))
        shown = "a secret value" if secret else repr(value)
        raise PipelineDefinitionError(f"pipeline {pipeline!r}: parameter {name!r} must be {kind}, got {shown}",
                                      hint="a finite number" if annotation is float else None) from None


def _convert(annotation: Any, value: Any) -> Any:
    """``value`` as ``annotation``; ``ValueError`` when it is not one (``1e999`` is no float)."""
    if annotation is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(value)
        return lowered in _TRUE
    if annotation in (int, float, str) and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        converted = annotation(value)
        if isinstance(converted, float) and not math.isfinite(converted):
            raise ValueError(value)
        return converted
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise ValueError(value)
    return value


def pipeline(func: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Mark a function as a pipeline: ``@pipeline`` or ``@pipeline(name="training")``."""
    if func is None:
        return lambda f: Pipeline(f, name=name)
    return Pipeline(func, name=name)
