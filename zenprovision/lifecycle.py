"""Deploy, destroy and refresh a stack: the steps between a recipe and a stack config.

The CLI calls these; they validate input before anything runs, drive the engine, and keep
the stack registry (``stacks/<name>.yaml``) in step with what the engine did.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from zenprovision.engines import get_engine
from zenprovision.engines.base import DeployRequest, DriftReport, Engine, EventHandler, Plan, UpResult
from zenprovision.engines.embedded import state as embedded_state
from zenprovision.engines.pulumi_cli import records as pulumi_records
from zenprovision.errors import InputError, NotFoundError, OperationFailed
from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import parse_assignments, resolve
from zenprovision.stacks import store
from zenprovision.stacks.config import Labels, StackConfig
from zenprovision.stacks.names import validate_stack_name


@dataclass(frozen=True)
class Deployment:
    """A validated request to deploy a recipe as a stack, and its engine."""

    request: DeployRequest
    engine: Engine
    labels: Labels
    existing: StackConfig | None


def prepare(catalog: Catalog, recipe_name: str, stack: str, pairs: tuple[str, ...],
            env: str = "dev", owner: str | None = None, offline: bool = False,
            backend: str | None = None) -> Deployment:
    """Check everything the user gave before any program runs.

    ``offline`` plans with the embedded engine, which needs no CLI and no credentials.
    """
    validate_stack_name(stack)
    recipe = catalog.get(recipe_name)
    config = resolve(recipe.config, parse_assignments(pairs), recipe.name)
    existing = store.load(stack) if store.exists(stack) else None
    if existing is not None and existing.recipe != recipe.name:
        raise InputError(
            f"stack {stack!r} was deployed from recipe {existing.recipe!r}, not {recipe.name!r}",
            hint=f"destroy it first (`provision destroy {stack}`) or choose another stack name",
        )
    labels = Labels(env=env, owner=owner or _current_user())
    tags = {"stack": stack, "recipe": recipe.name, "env": labels.env, "owner": labels.owner}
    request = DeployRequest(recipe=recipe, stack=stack, config=config, labels=tags)
    engine = get_engine("embedded") if offline else get_engine(recipe.engine, backend)
    return Deployment(request, engine, labels, existing)


def plan(deployment: Deployment) -> Plan:
    return deployment.engine.plan(deployment.request)


def config_changes(deployment: Deployment, planned: Plan) -> bool:
    """Would the stack config differ even where no resource changes?"""
    if deployment.existing is None:
        return True
    if "stack" not in planned.outputs:  # engines that learn outputs only by applying
        return deployment.existing.labels != deployment.labels
    components = planned.outputs.get("stack")
    current = deployment.existing.components.model_dump(exclude_none=True)
    return components != current or deployment.existing.labels != deployment.labels


def apply(deployment: Deployment, on_event: EventHandler) -> tuple[UpResult, StackConfig]:
    """Run the engine's up and register the stack from its ``stack`` output."""
    result = deployment.engine.up(deployment.request, on_event)
    config = _stack_config(deployment, result.outputs)
    store.save(config)
    return result, config


def _stack_config(deployment: Deployment, outputs: dict[str, Any]) -> StackConfig:
    request = deployment.request
    components = outputs.get("stack")
    if not isinstance(components, dict):
        raise OperationFailed(
            f"recipe {request.recipe.name!r} did not export a `stack` output",
            hint="every recipe must pulumi.export('stack', {...components...})",
        )
    created = deployment.existing.created_at if deployment.existing else datetime.now(timezone.utc)
    try:
        return StackConfig(
            name=request.stack,
            recipe=request.recipe.name,
            engine=request.recipe.engine,
            created_at=created,
            labels=deployment.labels,
            components=components,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise OperationFailed(
            f"recipe {request.recipe.name!r} exported an invalid stack: {field}: {first['msg']}",
            hint="fix the recipe's `stack` output; resources were created and are in state",
        ) from exc


def _engine_for(stack: str, backend: str | None = None) -> Engine:
    validate_stack_name(stack)
    if store.exists(stack):
        return get_engine(store.load(stack).engine, backend)
    # An apply that was interrupted before it registered the stack: find its engine's state.
    if embedded_state.exists(stack):
        return get_engine("embedded")
    if pulumi_records.exists(stack):
        return get_engine("pulumi", backend)
    raise NotFoundError(f"no stack named {stack!r}", hint="see `provision stacks`")


def destroy(stack: str, on_event: EventHandler, backend: str | None = None) -> UpResult:
    """Delete everything the stack created, then unregister it; a failure keeps the record."""
    engine = _engine_for(stack, backend)
    result = engine.destroy(stack, on_event)
    store.remove(stack)
    return result


def refresh(stack: str, on_event: EventHandler, backend: str | None = None) -> DriftReport:
    return _engine_for(stack, backend).refresh(stack, on_event)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
