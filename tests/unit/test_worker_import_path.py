"""The engine's worker does not import from the folder `provision` runs in: a user's `queue.py` there
must neither shadow the standard library in the worker nor run in it (red team)."""

import subprocess
import sys

import pytest

from zenprovision.interpreter import python_module_argv

WORKER = "zenprovision.engines.embedded.runner"


@pytest.fixture
def shadowing_folder(tmp_path):
    marker = tmp_path / "ran"
    for name in ("queue", "concurrent"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name} ')\n")
    return tmp_path, marker


def start(argv, folder):
    # a warm worker imports what an apply needs (the Pulumi SDK, asyncio, queue...), then, given no job, exits
    return subprocess.run(argv, cwd=folder, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "ZP_ENGINE_WARM": "1"})


def test_a_file_in_the_current_folder_is_not_imported_by_the_worker(shadowing_folder):
    folder, marker = shadowing_folder
    done = start(python_module_argv(WORKER), folder)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()


def test_the_folder_would_shadow_with_a_plain_dash_m(shadowing_folder):
    """The control: the file is found, so the test above can see a worker that imports it."""
    folder, marker = shadowing_folder
    start([sys.executable, "-m", WORKER], folder)
    assert marker.exists()
