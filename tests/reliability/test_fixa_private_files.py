"""What the pulumi engine and the offline plan's bytecode cache write is as private as the rest
of the home, whatever the umask; a bytecode cache outside the home is never more open than what it
caches, and its temp file, left by a ``kill -9``, is removed by the next write."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_RECIPES
from zenprovision.engines.embedded import lazy_sdk
from zenprovision.engines.pulumi_cli import backend, passphrase, paths, workdir


@pytest.fixture
def open_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): mode(p) for p in [folder, *folder.rglob("*")]}


@pytest.fixture
def open_recipe(tmp_path) -> Path:
    """A recipe installed under umask 000: every file 0666, a folder 0777, a script 0777."""
    recipe = tmp_path / "installed" / "files"
    recipe.parent.mkdir()
    import shutil

    shutil.copytree(FIXTURE_RECIPES / "files", recipe)
    (recipe / "scripts").mkdir()
    (recipe / "scripts" / "check.sh").write_text("#!/bin/sh\n")
    for path in [recipe, *recipe.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() or path.suffix == ".sh" else 0o666)
    return recipe


def test_a_pulumi_stacks_folders_in_the_home_are_private_under_umask_000(home, open_umask, open_recipe):
    work = workdir.sync(open_recipe, "dev")
    backend.prepare(backend.default_url())
    passphrase.ensure_passphrase_file(paths.passphrase_file())
    found = modes_under(home)
    assert work == paths.work_dir("dev") and (work / "Pulumi.yaml").is_file()
    assert found["pulumi/state"] == found["pulumi/work/dev"] == found["pulumi/work/dev/scripts"] == 0o700
    assert found["pulumi/work/dev/Pulumi.yaml"] == found["pulumi/passphrase"] == 0o600
    assert found["pulumi/work/dev/scripts/check.sh"] == 0o700  # still runnable, by its owner only
    assert {m for m in found.values()} <= {0o600, 0o700}, found
    (work / "Pulumi.dev.yaml").write_text("config: {}\n")  # the CLI's stack settings survive a new copy
    assert workdir.sync(open_recipe, "dev") == work and (work / "Pulumi.dev.yaml").is_file()
    assert mode(work / "__main__.py") == 0o600


def test_an_existing_work_folder_of_an_earlier_version_is_tightened(home, open_recipe):
    old = paths.work_dir("dev")
    old.mkdir(parents=True)
    os.chmod(old, 0o777)
    workdir.sync(open_recipe, "dev")
    assert mode(old) == 0o700 and mode(old / "recipe.yaml") == 0o600


def test_a_backend_folder_outside_the_home_keeps_the_umasks_modes(home, tmp_path, open_umask):
    team = tmp_path / "mount" / "team" / "state"
    backend.prepare(f"file://{team}")
    assert mode(team) == 0o777  # a folder a team shares: the user's umask decides there


@pytest.fixture
def module(tmp_path, monkeypatch) -> Path:
    """A module of a package folder 0755, its source 0644, with no bytecode cache yet."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    package = tmp_path / "site" / "sdkpkg"
    package.mkdir(parents=True)
    source = package / "mod.py"
    source.write_text("from typing import Optional\nx: Optional[int] = 1\n")
    os.chmod(source, 0o644)
    os.chmod(package, 0o755)
    return source


def compile_cached(source: Path) -> Path:
    lazy_sdk.PostponedAnnotationsLoader("sdkpkg.mod", str(source)).get_code("sdkpkg.mod")
    import importlib.util

    return Path(importlib.util.cache_from_source(str(source), optimization=lazy_sdk.CACHE_TAG))


def test_a_bytecode_cache_is_never_more_open_than_its_source_under_umask_000(home, module, open_umask):
    cache = compile_cached(module)
    assert cache.is_file()
    assert mode(cache.parent) == 0o755 and mode(cache) == 0o644  # as Python's own: nobody else writes code we run
    assert compile_cached(module) == cache and mode(cache) == 0o644


def test_a_bytecode_cache_follows_the_umask_outside_the_home(home, module):
    previous = os.umask(0o077)
    try:
        cache = compile_cached(module)
    finally:
        os.umask(previous)
    assert mode(cache.parent) == 0o700 and mode(cache) == 0o600


def test_a_bytecode_cache_inside_the_home_is_private(home, tmp_path, monkeypatch, open_umask):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    package = home / "venv" / "sdkpkg"
    package.mkdir(parents=True)
    os.chmod(package, 0o777)
    (package / "mod.py").write_text("x = 1\n")
    os.chmod(package / "mod.py", 0o666)
    cache = compile_cached(package / "mod.py")
    assert mode(cache.parent) == 0o700 and mode(cache) == 0o600


# A child that caches ``source``'s bytecode and stops between its temp file and the rename.
WRITER = """
import os, sys, time
from zenprovision.engines.embedded import lazy_sdk
def stuck(src, dst):
    print("ready", flush=True)
    time.sleep(600)
os.replace = stuck
sys.dont_write_bytecode = False
sys.pycache_prefix = None
lazy_sdk.PostponedAnnotationsLoader("sdkpkg.mod", sys.argv[1]).get_code("sdkpkg.mod")
"""


def test_a_killed_cache_writers_temp_file_is_removed_by_the_next_write_a_live_ones_kept(home, module):
    def writer() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(module)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    killed, live = writer(), writer()
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        folder = module.parent / "__pycache__"
        temps = {p.name for p in folder.iterdir() if ".tmp" in p.name}
        assert len(temps) == 2
        cache = compile_cached(module)
        assert cache.is_file()
        assert {p.name for p in folder.iterdir() if ".tmp" in p.name} == {n for n in temps if f"-{live.pid}-" in n}
    finally:
        for proc in (killed, live):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
