"""Opening a stack through the Automation API: its workspace, environment and config.

The only module that builds SDK workspaces; ``pulumi.automation`` is imported inside the
functions so that importing the engine stays cheap.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenprovision.engines.pulumi_cli import backend as backends
from zenprovision.engines.pulumi_cli import config, passphrase

SECRETS_PROVIDER = "passphrase"


@dataclass(frozen=True)
class Target:
    """Where one stack's commands run: its project folder and its state backend."""

    stack: str
    work_dir: Path
    backend: str


def workspace_env(backend_url: str) -> dict[str, str]:
    """Env for every CLI command: the backend, the passphrase file, and this Python for programs."""
    env = {"PULUMI_BACKEND_URL": backend_url, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    env.update(passphrase.passphrase_env(shared=backends.is_shared(backend_url)))
    if "PULUMI_PYTHON_CMD" not in os.environ:
        env["PULUMI_PYTHON_CMD"] = sys.executable  # the interpreter that has zenprovision and the SDKs
        # The policy pack is started with the `python3` found on PATH: make it this one too.
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return env


def open_stack(target: Target, create: bool) -> tuple[Any, bool]:
    """Select the stack, creating it when allowed; returns (stack, created)."""
    from pulumi import automation as auto

    workspace = _workspace(target)
    try:
        return auto.Stack.select(target.stack, workspace), False
    except auto.StackNotFoundError:
        if not create:
            raise
        return auto.Stack.create(target.stack, workspace), True


def select_existing(target: Target) -> Any | None:
    """The stack, or None when its backend no longer has it."""
    from pulumi import automation as auto

    try:
        return open_stack(target, create=False)[0]
    except auto.StackNotFoundError:
        return None


def _workspace(target: Target) -> Any:
    from pulumi import automation as auto

    env = workspace_env(target.backend)
    backends.prepare(target.backend)
    return auto.LocalWorkspace(work_dir=str(target.work_dir), env_vars=env, secrets_provider=SECRETS_PROVIDER)


def apply_config(stack: Any, wanted: dict[str, config.Setting], project: str) -> None:
    """Make the stack's config exactly ``wanted`` in zenprovision's namespaces."""
    from pulumi import automation as auto

    stale = config.stale_keys(stack.get_all_config(), wanted, project)
    if stale:
        stack.remove_all_config(stale)
    plain = {key: auto.ConfigValue(value=s.value, secret=False) for key, s in wanted.items()
             if not s.secret and not s.structured}
    if plain:
        stack.set_all_config(plain)
    structured = {key: s.as_config_json() for key, s in wanted.items() if s.structured and not s.secret}
    if structured:  # typed: `config set-all --json` stores them as arrays and maps, as the project declares
        stack.set_all_config_json(json.dumps(structured, sort_keys=True))
    for key, setting in wanted.items():
        if setting.secret:
            set_secret(stack, key, setting.value)


def set_secret(stack: Any, key: str, value: str) -> None:
    """``pulumi config set --secret`` with the value on stdin.

    The SDK's ``set_config`` puts the value in the CLI's argv, which every local user can
    read (``ps``); the CLI reads it from stdin instead when stdin is not a terminal.
    """
    from pulumi import automation as auto
    from pulumi.automation.errors import create_command_error

    workspace = stack.workspace
    args = [workspace.pulumi_command.command, "--non-interactive", "config", "set", "--secret", key,
            "--stack", stack.name]
    env = {**os.environ, **workspace.env_vars, "PULUMI_AUTOMATION_API": "true"}
    if workspace.pulumi_home:
        env["PULUMI_HOME"] = workspace.pulumi_home
    proc = subprocess.run(args, input=value, capture_output=True, text=True, cwd=workspace.work_dir,
                          env=env, check=False)
    if proc.returncode != 0:
        raise create_command_error(auto.CommandResult(proc.stdout, proc.stderr, proc.returncode))


def refresh_options(stack: Any) -> dict[str, Any]:
    """Clear pending creates left by an interrupted update, where this SDK supports it."""
    if "clear_pending_creates" in inspect.signature(stack.refresh).parameters:
        return {"clear_pending_creates": True}
    return {}
