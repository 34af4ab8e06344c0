"""A resource monitor for the Pulumi SDK's mock runtime that hands every registration to
the engine's operations, with its dependencies, and captures the stack's exports."""

from __future__ import annotations

import runpy
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

from google.protobuf import empty_pb2
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from zenprovision.engines.embedded.ops import Registration

STACK_TYPE = "pulumi:pulumi:Stack"


class Handler(Protocol):
    def register(self, reg: Registration) -> tuple[str, dict[str, Any]]: ...


class _NoCalls(mocks.Mocks):
    """Provider functions (``aws.get_...``) answer empty: enough to plan a cloud program."""

    def call(self, args: mocks.MockCallArgs):
        return {}

    def new_resource(self, args: mocks.MockResourceArgs):
        return f"{args.name}-id", dict(args.inputs)


class EngineMonitor(mocks.MockMonitor):
    def __init__(self, handler: Handler) -> None:
        super().__init__(_NoCalls())
        self.handler = handler
        self.stack_urn = ""
        self.exports: dict[str, Any] = {}
        self.failure: BaseException | None = None
        self._serial = threading.Lock()  # the SDK registers from several threads

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        reg = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            dependencies=list(request.dependencies),
            inputs=_whole_numbers(rpc.deserialize_properties(request.object, keep_unknowns=True)),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
        )
        try:
            with self._serial:
                if self.failure is not None:
                    raise RuntimeError("an earlier resource failed")
                resource_id, outputs = self.handler.register(reg)
        except BaseException as exc:
            if self.failure is None:
                self.failure = exc
            raise
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, resource_id, outputs)
        props = _sync_await(rpc.serialize_properties(outputs, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=props)

    def RegisterResourceOutputs(self, request):
        if request.urn == self.stack_urn:
            self.exports = _whole_numbers(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        return empty_pb2.Empty()


def _whole_numbers(value: Any) -> Any:
    """Protobuf turns every number into a float; give integral ones back as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _config_string(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def run_program(
    program_dir: Path, project: str, stack: str, config: dict[str, Any], handler: Handler, preview: bool,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run a recipe's ``__main__.py`` under the monitor; returns the stack's exports.

    The SDK keeps global state, so this runs once per process.
    """
    for key, value in config.items():
        if value is not None:
            pulumi_config.set_config(f"{project}:{key}", _config_string(value))
    for key, value in (labels or {}).items():
        pulumi_config.set_config(f"zenprovision:{key}", str(value))
    monitor = EngineMonitor(handler)
    mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    settings.set_root_resource(None)
    sys.path.insert(0, str(program_dir))
    program = str(program_dir / "__main__.py")
    try:
        _sync_await(pulumi_stack.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
    except BaseException:
        if monitor.failure is not None:
            raise monitor.failure from None
        raise
    if monitor.failure is not None:
        raise monitor.failure
    return monitor.exports
