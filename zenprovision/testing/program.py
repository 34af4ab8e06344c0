"""Run a recipe's program under Pulumi mocks and record every resource and export.

The SDK keeps global state, so each program runs in a fresh process
(``python -m zenprovision.testing.program``); ``run_under_mocks`` does that for you.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenprovision.errors import OperationFailed
from zenprovision.interpreter import python_module_argv


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProgramRecord:
    resources: list[RecordedResource]
    exports: dict[str, Any]
    secret_exports: list[str]

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} {name or ''}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource | None:
        return next((r for r in self.resources if r.urn == urn), None)


def run_under_mocks(recipe_dir: Path, config: dict[str, Any], labels: dict[str, str] | None = None,
                    timeout: float = 120) -> ProgramRecord:
    job = {"recipe_dir": str(recipe_dir), "config": config, "labels": labels or {}}
    proc = subprocess.run(python_module_argv("zenprovision.testing.program"), input=json.dumps(job),
                          capture_output=True, text=True, timeout=timeout, env={**os.environ})
    data = _last_json_line(proc.stdout)
    if proc.returncode != 0 or data is None or "error" in data:
        # The program's own error, as it reported it: what the SDK's threads print while the
        # process exits may come after it on stderr.
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        error = (data or {}).get("error") or (lines[-1] if lines else "no output")
        raise OperationFailed(f"recipe {recipe_dir.name} failed under mocks: {error}",
                              hint="run its program with `provision plan NAME --offline --verbose` for the traceback")
    return ProgramRecord([RecordedResource(**r) for r in data["resources"]], data["exports"], data["secret_exports"])


def _last_json_line(stdout: str) -> dict[str, Any] | None:
    lines = stdout.strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None  # a program may print JSON of its own


def _main() -> int:
    from zenprovision.testing.recorder import record_program

    job = json.loads(sys.stdin.read())
    try:
        result = record_program(Path(job["recipe_dir"]), job["config"], job["labels"])
    except Exception as exc:  # reported whole on stdout; the traceback goes to stderr
        from zenprovision.stacks.secrets import scrub_text, scrubbed_traceback

        sys.stderr.write(scrubbed_traceback())
        sys.stdout.write(json.dumps({"error": scrub_text(f"{type(exc).__name__}: {exc}")}) + "\n")
        return 1
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
