"""Fixtures for the kill, race and bad-input scenarios; ``slow`` marks the ones that start servers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts real servers or kills real processes (seconds each)")


@pytest.fixture
def markers(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("ZP_TEST_MARKERS", str(folder))
    return folder


def recorded_groups(home: Path) -> list[psutil.Process]:
    """Every live process in the groups of the pid files under the home's local stacks."""
    found = []
    for pid_file in sorted((home / "local").rglob("*.pid")) if (home / "local").is_dir() else []:
        try:
            group = json.loads(pid_file.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            continue
        for process in psutil.process_iter():
            try:
                if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
            except (OSError, psutil.Error):
                continue
    return found


def gone(processes: list[psutil.Process], timeout: float = 20.0) -> bool:
    """All of them ended within ``timeout`` (a bounded wait, generous for a loaded machine)."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True
