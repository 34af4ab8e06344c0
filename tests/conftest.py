"""Shared fixtures: an isolated $ZENPROVISION_HOME and a way to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

FIXTURE_RECIPES = Path(__file__).parent / "fixtures" / "recipes"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ZENPROVISION_HOME", str(folder))
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    yield folder
    _kill_leftover_servers(folder)


def _kill_leftover_servers(folder: Path) -> None:
    """A failing test must not leave MLServer processes behind for the next one."""
    for proc in servers_under(folder):
        try:
            proc.kill()
        except psutil.Error:
            pass


def servers_under(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "mlserver" in cmdline and str(folder) in cmdline:
            found.append(proc)
    return found


def run_cli(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 120) -> Result:
    """Run ``provision`` as a user would, in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "zenprovision", *args],
        capture_output=True, text=True, input=input, timeout=timeout,
        env={**os.environ, **(env or {}), "COLUMNS": "200"},
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def fixture_recipes(monkeypatch) -> Path:
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(FIXTURE_RECIPES))
    return FIXTURE_RECIPES


pytest_plugins = ["tests.servers"]
