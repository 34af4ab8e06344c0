"""Deploy, destroy and refresh a stack: the steps between a recipe and a stack config.

The CLI calls these; they validate input before anything runs, drive the engine, and keep
the stack config (``stacks/<name>.yaml``) and the registry record (``registry/<name>.json``)
in step with what the engine did.
"""

from __future__ import annotations

import contextlib
import getpass
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psutil
from pydantic import ValidationError

from zenprovision import settings
from zenprovision.engines import get_engine
from zenprovision.engines.base import DeployRequest, DriftReport, Engine, EventHandler, Plan, UpResult
from zenprovision.engines.embedded import state as embedded_state
from zenprovision.engines.pulumi_cli import records as pulumi_records
from zenprovision.errors import InputError, LockLostError, NotFoundError, OperationFailed, StackLockedError
from zenprovision.locks import DestroyLease, StackLock, active_runs, fence, is_shared
from zenprovision.locks import shared as shared_locks
from zenprovision.locks.lease import lease_seconds
from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.recipe import Recipe
from zenprovision.recipes.schema import parse_assignments, resolve
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.owner import same_start
from zenprovision.stacks import registry, store
from zenprovision.stacks.config import Labels, StackConfig
from zenprovision.stacks.labels import check_given, cloud_form, is_prod
from zenprovision.stacks.names import validate_stack_name


@dataclass(frozen=True)
class Deployment:
    """A validated request to deploy a recipe as a stack, and its engine."""

    request: DeployRequest
    engine: Engine
    labels: Labels
    existing: StackConfig | None


def prepare(catalog: Catalog, recipe_name: str, stack: str, pairs: tuple[str, ...],
            env: str | None = None, owner: str | None = None, offline: bool = False,
            backend: str | None = None, ttl: str | None = None) -> Deployment:
    """Check everything the user gave before any program runs.

    Labels not given keep the stack's current ones (a redeploy never quietly turns a prod
    stack into a dev one); ``offline`` plans with the embedded engine, which needs no CLI
    and no credentials.
    """
    recipe, config = check_input(catalog, recipe_name, stack, pairs, env, owner, ttl)
    existing = store.load(stack) if store.exists(stack) else None
    record = registry.load(stack)
    deployed_from = existing.recipe if existing else (record.recipe if record else None)
    if deployed_from is not None and deployed_from != recipe.name:
        raise InputError(
            f"stack {stack!r} was deployed from recipe {deployed_from!r}, not {recipe.name!r}",
            hint=f"destroy it first (`provision destroy {stack}`) or choose another stack name",
        )
    labels = _labels(existing, record, env, owner, ttl)
    tags = {"stack": stack, "recipe": recipe.name, "env": labels.env, "owner": labels.owner}
    request = DeployRequest(recipe=recipe, stack=stack, config=config, labels=tags)
    engine = get_engine("embedded") if offline else get_engine(recipe.engine, backend)
    return Deployment(request, engine, labels, existing)


def check_input(catalog: Catalog, recipe_name: str, stack: str, pairs: tuple[str, ...], env: str | None = None,
                owner: str | None = None, ttl: str | None = None) -> tuple[Recipe, dict[str, Any]]:
    """The recipe and its typed config: all that the command line alone can get wrong.

    Reads no stack file and writes nothing, so the CLI checks it before taking the stack's
    lock: bad input leaves no lock file behind.
    """
    validate_stack_name(stack)
    check_given(env, owner)
    settings.load()  # a misspelt key in settings.yaml (default_ttl) is refused here too
    if ttl:
        registry.parse_duration(ttl)
    recipe = catalog.get(recipe_name)
    return recipe, resolve(recipe.config, parse_assignments(pairs), recipe.name)


def _labels(existing: StackConfig | None, record: registry.StackRecord | None, env: str | None,
            owner: str | None, ttl: str | None) -> Labels:
    current = existing.labels if existing else (
        Labels(env=record.env, owner=record.owner, ttl=record.ttl) if record else None)
    if current is not None and is_prod(current.env) and env not in (None, "prod"):
        raise InputError("a prod stack cannot be relabelled to another env",
                         hint="destroy it (provision destroy STACK --force) and deploy it again")
    env = env or (current.env if current else "dev")
    ttl = ttl or (current.ttl if current else None) or settings.default_ttl(env)
    if ttl:
        registry.parse_duration(ttl)
    return Labels(env=env, owner=owner or (current.owner if current else _current_user()), ttl=ttl)


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
    """Run the engine's up and register the stack from its ``stack`` output.

    The registry record is written before the engine starts, so even a first deploy that
    is interrupted leaves a record pointing at what it may have created.
    """
    stack = deployment.request.stack
    with StackLock(stack):  # held until the config and record are written
        fence(stack)
        record = registry.begin(_record_for(deployment), "deploy", "deploying")
        try:
            result = deployment.engine.up(deployment.request, on_event)
            config = _stack_config(deployment, result.outputs, record.created_at)
            fence(stack)
            store.save(config)
        except BaseException as exc:
            _failed(record, "deploy-failed", exc)
            raise
        fence(stack)
        registry.finish(record, "active")
    return result, config


def _failed(record: registry.StackRecord, status: registry.Status, exc: BaseException) -> None:
    """Record a failure, unless this command lost the stack's lock: the record is its new holder's now."""
    if not isinstance(exc, LockLostError):
        registry.finish(record, status, error=str(exc) or type(exc).__name__)


def _record_for(deployment: Deployment) -> registry.StackRecord:
    request, labels = deployment.request, deployment.labels
    record = registry.load(request.stack)
    if record is None:
        created = deployment.existing.created_at if deployment.existing else registry.recorded_now()
        record = registry.StackRecord(name=request.stack, recipe=request.recipe.name, engine=deployment.engine.name,
                                      created_at=created)
    record.recipe, record.engine = request.recipe.name, deployment.engine.name
    record.env, record.owner, record.ttl = labels.env, labels.owner, labels.ttl
    return record


def _stack_config(deployment: Deployment, outputs: dict[str, Any], created: datetime) -> StackConfig:
    request = deployment.request
    components = outputs.get("stack")
    if not isinstance(components, dict):
        raise OperationFailed(
            f"recipe {request.recipe.name!r} did not export a `stack` output",
            hint="every recipe must pulumi.export('stack', {...components...})",
        )
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


def engine_of(stack: str, backend: str | None = None) -> Engine:
    """The engine of a known stack; ``NotFoundError`` when there is none to act on.

    Commands that ask before acting (destroy) call it first: a misspelt name is one line,
    never a prompt to destroy a stack that does not exist.
    """
    return _engine_for(stack, backend)


def _engine_for(stack: str, backend: str | None = None) -> Engine:
    validate_stack_name(stack)
    record = registry.load(stack)
    if record is not None:
        return get_engine(record.engine, backend)
    if store.exists(stack):
        return get_engine(store.load(stack).engine, backend)
    # An apply that was interrupted before it registered the stack: find its engine's state.
    if embedded_state.exists(stack):
        return get_engine("embedded")
    if pulumi_records.exists(stack):
        return get_engine("pulumi", backend)
    raise NotFoundError(f"no stack named {stack!r}", hint="see `provision stacks`")


def destroy(stack: str, on_event: EventHandler, backend: str | None = None, force: bool = False,
            command: str | None = None, prepared: Engine | None = None) -> UpResult:
    """Delete everything the stack created, then unregister it.

    A failed or interrupted destroy keeps the record, marked ``destroy-failed``, so the
    next destroy can finish the job; one refused before anything was touched (a damaged
    state file) leaves no record it did not find. Pipeline runs on the stack hold a lease:
    destroy refuses while one runs, or with ``force`` aborts them first. ``command`` is what
    the history names as its doer when it is not this process's own command (``teardown``).
    ``prepared``: an engine whose ``prepare_destroy`` the caller called; used if it is the stack's.
    """
    engine = _engine_for(stack, backend)
    if prepared is not None and prepared.name == engine.name:
        engine = prepared
    with StackLock(stack), _runs_stopped(stack, force):  # held until the stack is unregistered
        _engine_for(stack, backend)  # again, under the lock: another command may have destroyed it meanwhile
        fence(stack)
        found = registry.load(stack)
        record = found or _record_from_config(stack, engine.name)
        status = record.status  # begin() changes the record in place
        registry.begin(record, "destroy", "destroying", command=command)
        try:
            result = engine.destroy(stack, on_event)
        except InputError as exc:
            if found is None:  # refused on bad input before any change: no new record
                registry.remove(stack)
            else:
                _failed(record, status, exc)
            raise
        except BaseException as exc:
            _failed(record, "destroy-failed", exc)
            raise
        fence(stack)
        store.remove(stack)
        registry.retire(record)  # the record, with this destroy, moves to history/<stack>/
    return result


@contextlib.contextmanager
def _runs_stopped(stack: str, force: bool) -> Iterator[None]:
    """Hold the stack's run lease alone: no run goes on writing artifacts into a destroyed stack.

    A run on another machine learns of an abort at its next renewal: it gets a lease longer.
    """
    wait_seconds = 30.0 + (lease_seconds() if is_shared() else 0.0)
    lease = DestroyLease(stack)
    try:
        if not lease.try_acquire():
            runs = active_runs(stack)
            names = ", ".join(r.get("run_id", "?") for r in runs) or "a pipeline run"
            if not force:
                raise StackLockedError(f"stack {stack!r} is in use by run {names}",
                                       hint=f"wait for it to finish, or abort it: provision destroy {stack} --force")
            for run in runs:
                _abort_run(stack, run)
            if not lease.wait(wait_seconds):
                raise StackLockedError(f"run {names} on stack {stack!r} did not stop within {wait_seconds:.0f}s",
                                       hint="stop it (Ctrl-C) and destroy again")
        yield
    finally:
        lease.release()


def _abort_run(stack: str, run: dict[str, Any]) -> None:
    """Mark the run aborted and interrupt its process (only if it still is that process)."""
    if run.get("run_id"):
        meta = MetadataStore(stack)
        try:
            meta.end_run(run["run_id"], "aborted", "aborted by `provision destroy --force`")
        finally:
            meta.close()
    if is_shared():  # the run may be on another machine: its heartbeat finds the request and stops it
        shared_locks.request_abort(stack, run["run_id"], "`provision destroy --force`")
    elif run.get("host") == socket.gethostname() and run.get("pid"):
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(int(run["pid"]))
            boot = run.get("boot")
            if same_start(process, float(run.get("started", 0)), None if boot is None else float(boot), 1.0):
                process.send_signal(signal.SIGINT)


def _record_from_config(stack: str, engine: str) -> registry.StackRecord:
    """A record for a stack known only by its config or state (e.g. an older home)."""
    config = store.load(stack) if store.exists(stack) else None
    return registry.StackRecord(
        name=stack, recipe=config.recipe if config else "unknown", engine=engine,
        env=config.labels.env if config else "dev", owner=config.labels.owner if config else "",
        ttl=config.labels.ttl if config else None, created_at=config.created_at if config else registry.recorded_now(),
        status="active")


def labels_of(stack: str) -> tuple[str, str]:
    """(env, owner) of a stack, from its record or config; what destroy protections look at."""
    record = registry.load(stack)
    if record is not None:
        return record.env, record.owner
    if store.exists(stack):
        labels = store.load(stack).labels
        return labels.env, labels.owner
    return "dev", ""


def refresh(stack: str, on_event: EventHandler, backend: str | None = None) -> DriftReport:
    engine = _engine_for(stack, backend)
    record = registry.load(stack) or _record_from_config(stack, engine.name)
    status = record.status
    registry.begin(record, "refresh", status)
    try:
        report = engine.refresh(stack, on_event)
    except BaseException as exc:
        registry.finish(record, status, error=str(exc) or type(exc).__name__)
        raise
    registry.finish(record, status)
    return report


def _current_user() -> str:
    """The default owner: the login in the form the clouds keep (``John.Doe`` -> ``john_doe``), so the
    stack's record, its cloud labels and ``teardown --owner`` all say the same."""
    try:
        return cloud_form(getpass.getuser()) or "unknown"
    except (KeyError, OSError):
        return "unknown"
