"""The in-process half of ``run_under_mocks``: a monitor that records registrations."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from zenprovision.engines.embedded import lazy_sdk
from zenprovision.engines.embedded.monitor import _config_string, _whole_numbers
from zenprovision.engines.embedded.values import is_secret, reveal
from zenprovision.testing.cloud_mocks import CloudMocks


class RecordingMonitor(mocks.MockMonitor):
    def __init__(self) -> None:
        super().__init__(CloudMocks())
        self.records: list[dict[str, Any]] = []
        self.stack_urn = ""
        self.exports: dict[str, Any] = {}

    def RegisterResource(self, request):
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = self.make_urn(request.parent, request.type, request.name)
        else:
            _ensure_event_loop()
            inputs = _whole_numbers(rpc.deserialize_properties(request.object, keep_unknowns=True))
            self.records.append({
                "type": request.type, "name": request.name, "parent": request.parent, "custom": bool(request.custom),
                "urn": self.make_urn(request.parent, request.type, request.name),
                "inputs": reveal({k: v for k, v in inputs.items() if k != "__provider"}),
                "dependencies": list(request.dependencies),
                "options": {"protect": bool(request.protect), "retain_on_delete": bool(request.retainOnDelete)},
            })
        return super().RegisterResource(request)

    def RegisterResourceOutputs(self, request):
        if request.urn == self.stack_urn:
            self.exports = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
        return super().RegisterResourceOutputs(request)


def record_program(recipe_dir: Path, config: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    lazy_sdk.install()
    project = yaml.safe_load((recipe_dir / "Pulumi.yaml").read_text())["name"]
    for key, value in config.items():
        if value is not None:
            pulumi_config.set_config(f"{project}:{key}", _config_string(value))
    for key, value in labels.items():
        pulumi_config.set_config(f"zenprovision:{key}", str(value))
    monitor = RecordingMonitor()
    mocks.set_mocks(monitor.mocks, project=project, stack=labels.get("stack", "test"), preview=False, monitor=monitor)
    settings.set_root_resource(None)
    sys.path.insert(0, str(recipe_dir))
    program = str(recipe_dir / "__main__.py")
    _sync_await(pulumi_stack.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
    exports = _whole_numbers(monitor.exports)
    return {
        "resources": monitor.records,
        "exports": reveal(exports),
        "secret_exports": sorted(k for k, v in exports.items() if is_secret(v)),
    }
