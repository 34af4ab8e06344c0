"""``PulumiEngine``: plan, up, destroy, refresh and outputs through the real ``pulumi`` CLI."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zenprovision.engines.base import DeployRequest, DriftReport, Engine, EventHandler, Plan, UpResult
from zenprovision.engines.pulumi_cli import backend as backends
from zenprovision.engines.pulumi_cli import (
    config,
    deployer,
    failures,
    interrupt,
    passphrase,
    plugins,
    records,
    session,
    workdir,
)
from zenprovision.engines.pulumi_cli.events import EventSink
from zenprovision.errors import InputError, NotFoundError
from zenprovision.locks import StackLock
from zenprovision.recipes.catalog import Catalog

SECRET_MASK = "[secret]"


class PulumiEngine(Engine):
    """Runs a recipe's program with the ``pulumi`` CLI, state in ``backend``.

    ``backend`` (else ``$ZENPROVISION_BACKEND``) is a ``file://``, ``s3://``, ``gs://``,
    ``azblob://`` or ``https://`` URL; by default the home's ``pulumi`` folder (a ``file://``
    one needing no login, or ``<bucket home>/pulumi``). A shared backend needs the user's
    passphrase (``PULUMI_CONFIG_PASSPHRASE[_FILE]``), never a generated one.
    Every command that touches a stack's project folder holds the home's lock of that stack
    (the CLI's own backend lock only covers the update itself).
    """

    name = "pulumi"

    def __init__(self, backend: str | None = None) -> None:
        self.backend = backends.resolve(backend)
        passphrase.require_for_shared(self.backend)  # before anything runs: teammates need the same one
        self._plugins_ready: set[str] = set()

    def plan(self, request: DeployRequest) -> Plan:
        """A preview; a stack created only for it is removed again, so planning leaves no trace."""
        failures.require_cli()
        backend = self._backend_of(request.stack)
        sink = EventSink(mode="plan")
        with StackLock(request.stack), failures.boundary("preview", request.stack, backend, sink):
            interrupt.run(lambda: self._preview(request, sink, backend), f"preview of stack {request.stack!r}")
        return Plan(changes=sink.planned.changes(), outputs={})

    def up(self, request: DeployRequest, on_event: EventHandler) -> UpResult:
        failures.require_cli()
        backend = self._backend_of(request.stack)
        sink = EventSink(on_event, mode="apply")
        started = time.monotonic()
        with StackLock(request.stack), failures.boundary("up", request.stack, backend, sink):
            outputs = interrupt.run(lambda: self._up(request, sink, backend), f"up of stack {request.stack!r}")
        return UpResult(sink.done.counts(), outputs, time.monotonic() - started)

    def destroy(self, stack: str, on_event: EventHandler) -> UpResult:
        """Delete the stack's resources, then the stack itself and its record."""
        failures.require_cli()
        record = records.load(stack)
        sink = EventSink(on_event, mode="apply")
        started = time.monotonic()
        with StackLock(stack), failures.boundary("destroy", stack, record.backend, sink):
            interrupt.run(lambda: self._destroy(record, sink), f"destroy of stack {stack!r}")
        records.remove(stack)
        workdir.remove(stack)
        return UpResult(sink.done.counts(), {}, time.monotonic() - started)

    def refresh(self, stack: str, on_event: EventHandler) -> DriftReport:
        """Read every resource back; also clears pending creates left by an interrupted up."""
        failures.require_cli()
        record = records.load(stack)
        sink = EventSink(on_event, mode="refresh")
        with StackLock(stack), failures.boundary("refresh", stack, record.backend, sink):
            interrupt.run(lambda: self._refresh(record, sink), f"refresh of stack {stack!r}")
        return sink.drift()

    def outputs(self, stack: str) -> dict[str, Any]:
        failures.require_cli()
        record = records.load(stack)
        with failures.boundary("output", stack, record.backend):
            return interrupt.run(lambda: shown_outputs(self._existing(record).outputs()), f"outputs of {stack!r}")

    def secret_output(self, stack: str, name: str) -> Any:
        """One output's real value, secret or not (a kubeconfig the user asked for), or None."""
        failures.require_cli()
        record = records.load(stack)
        with failures.boundary("output", stack, record.backend):
            found = interrupt.run(lambda: self._existing(record).outputs(), f"outputs of {stack!r}").get(name)
        return None if found is None else found.value

    def has_state(self, stack: str) -> bool:
        """Does this engine know the stack (also after an up that was cut short)?"""
        return records.exists(stack)

    # Each of these runs in interrupt.run's worker thread, so a Ctrl-C anywhere in it waits for the CLI.

    def _preview(self, request: DeployRequest, sink: EventSink, backend: str) -> None:
        stack, created = self._open(request, backend, record=False)
        try:
            stack.preview(on_event=sink, color="never", policy_packs=_policy_packs())
        finally:
            if created:
                self._forget_quietly(stack, request.stack)

    def _up(self, request: DeployRequest, sink: EventSink, backend: str) -> dict[str, Any]:
        stack, _ = self._open(request, backend, record=True)
        return shown_outputs(stack.up(on_event=sink, color="never", policy_packs=_policy_packs()).outputs)

    def _destroy(self, record: records.StackRecord, sink: EventSink) -> None:
        found = session.select_existing(self._target(record))
        if found is not None:  # None: already gone from the backend, e.g. a destroy cut short
            found.destroy(on_event=sink, color="never")
            found.workspace.remove_stack(record.stack)

    def _refresh(self, record: records.StackRecord, sink: EventSink) -> None:
        found = self._existing(record)
        found.refresh(on_event=sink, color="never", **session.refresh_options(found))

    def _open(self, request: DeployRequest, backend: str, record: bool) -> tuple[Any, bool]:
        """Project folder, stack, record, config and plugins: everything before a preview or up."""
        recipe = request.recipe
        target = session.Target(request.stack, workdir.sync(recipe.path, request.stack), backend)
        stack, created = session.open_stack(target, create=True)
        if record:
            records.save(records.StackRecord(
                stack=request.stack, recipe=recipe.name, recipe_path=str(recipe.path), project=recipe.name,
                backend=backend, work_dir=str(target.work_dir),
            ))
        wanted = config.stack_settings(recipe.name, recipe.config, request.config, request.labels)
        wanted.update(deployer.settings(recipe.cloud))  # the API stays reachable from this machine
        session.apply_config(stack, wanted, recipe.name)
        self._ensure_plugins(stack.workspace, request)
        return stack, created

    def _ensure_plugins(self, workspace: Any, request: DeployRequest) -> None:
        key = str(request.recipe.path)
        if key not in self._plugins_ready:
            plugins.ensure(workspace, plugins.wanted(plugins.declared(request.recipe.path)))
            self._plugins_ready.add(key)

    def _backend_of(self, stack: str) -> str:
        """The stack's backend: it stays in the one it was created in, as recorded then (maybe
        written another way, ``backends.same``); moving it would orphan its resources."""
        if not records.exists(stack):
            return self.backend
        old = records.load(stack).backend
        if not backends.same(old, self.backend):
            raise InputError(
                f"stack {stack!r} lives in the backend {old}, not {self.backend}",
                hint=f"use that backend (ZENPROVISION_BACKEND={old}), or `provision destroy {stack}` first",
            )
        return old

    def _target(self, record: records.StackRecord) -> session.Target:
        folder = workdir.ensure(record.stack, Path(record.work_dir), _recipe_folder(record))
        return session.Target(record.stack, folder, record.backend)

    def _existing(self, record: records.StackRecord) -> Any:
        found = session.select_existing(self._target(record))
        if found is None:
            raise NotFoundError(f"the backend {record.backend} has no stack {record.stack!r}",
                                hint=f"it was removed outside zenprovision; `provision destroy {record.stack}` forgets it")
        return found

    @staticmethod
    def _forget_quietly(stack: Any, name: str) -> None:
        with contextlib.suppress(Exception):
            stack.workspace.remove_stack(name)
        workdir.remove(name)


def _recipe_folder(record: records.StackRecord) -> Path:
    """The recorded recipe folder or, on another machine of the team, the same recipe in its catalog."""
    recorded = Path(record.recipe_path)
    if (recorded / "Pulumi.yaml").is_file():
        return recorded
    try:
        return Catalog().get(record.recipe).path
    except InputError:
        return recorded  # workdir.ensure says neither folder has the project


def _policy_packs() -> list[str]:
    """The zenprovision policy pack for real previews and updates (imported here: the CLI starts fast)."""
    from zenprovision.policy import pulumi_policy_packs

    return pulumi_policy_packs()


def shown_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Output values with secrets masked; ``stack`` unmasked (the caller rejects secrets in it)."""
    return {name: out.value if name == "stack" or not out.secret else SECRET_MASK for name, out in outputs.items()}
