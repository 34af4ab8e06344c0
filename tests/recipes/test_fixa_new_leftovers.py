"""A `provision new` killed (SIGKILL) while it renders leaves its hidden staging folder; the next
`provision new` in that folder removes it, but never the folder of one that is still running.
Killed at its questions, it leaves nothing: it writes only once they are answered."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# `provision new` whose template rendering waits for stdin once its staging folder is made (in
# the pre-generation hook): a process that a kill -9 stops mid-render
HELD = """
import sys
import cookiecutter.generate
real = cookiecutter.generate.run_hook_from_repo_dir
def held(repo_dir, hook_name, *args, **kwargs):
    if hook_name == "pre_gen_project":
        sys.stdin.read()
    return real(repo_dir, hook_name, *args, **kwargs)
cookiecutter.generate.run_hook_from_repo_dir = held
sys.argv = ["provision", *sys.argv[1:]]
from zenprovision.cli import main
main()
"""


def staging(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.name.startswith(".")} if out.is_dir() else set()


class Rendering:
    """``provision new NAME`` held while it renders the template (its stdin stays open)."""

    def __init__(self, name: str, out: Path) -> None:
        before = staging(out)
        self.proc = subprocess.Popen([sys.executable, "-c", HELD, "new", name, "--cloud", "local",
                                      "--output-dir", str(out), "--no-input"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
        while not (staging(out) - before):
            assert self.proc.poll() is None and time.monotonic() < deadline, "provision new never got to rendering"
            time.sleep(0.05)
        (self.folder,) = staging(out) - before

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait()
        self.proc.stdin.close()


@pytest.fixture
def rendering():
    started: list[Rendering] = []

    def start(name: str, out: Path) -> Rendering:
        started.append(Rendering(name, out))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def test_the_next_new_removes_a_killed_ones_staging_folder_and_keeps_a_running_ones(home, cli, tmp_path, rendering):
    out = tmp_path / "recipes"
    killed = rendering("first", out)
    killed.stop(signal.SIGKILL)
    assert staging(out) == {killed.folder} and (out / killed.folder).is_dir()
    running = rendering("second", out)
    earlier = out / ".third.new-k97ut81u"  # an earlier version's name: whose, unknown, so kept
    earlier.mkdir()
    result = cli("new", "third", "--cloud", "local", "--output-dir", str(out), "--no-input")
    assert result.code == 0, result.err
    assert (out / "third" / "recipe.yaml").is_file()
    assert staging(out) == {running.folder, earlier.name}  # the running one's folder is its own
    assert running.proc.poll() is None
    running.stop(signal.SIGKILL)
    assert cli("new", "fourth", "--cloud", "local", "--output-dir", str(out), "--no-input").code == 0
    assert staging(out) == {earlier.name}
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["fourth", "third"]


def test_the_staging_folder_is_private_and_named_for_its_process(home, tmp_path, rendering):
    out = tmp_path / "recipes"
    one = rendering("mine", out)
    assert one.folder.startswith(".mine.new.tmp-") and f"-{one.proc.pid}-" in one.folder
    assert os.stat(out / one.folder).st_mode & 0o777 == 0o700


def test_a_new_killed_at_its_questions_leaves_nothing(home, tmp_path):
    """It asks before it writes: no output folder, no staging folder, while the user thinks."""
    out = tmp_path / "new" / "recipes"
    proc = subprocess.Popen([sys.executable, "-m", "zenprovision", "new", "asking", "--cloud", "local",
                             "--output-dir", str(out)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        seen, deadline = b"", time.monotonic() + 120  # a loaded machine starts Python slowly
        while b"One line about the stack" not in seen:  # the first question, on stderr
            assert time.monotonic() < deadline, f"provision new never asked on stderr: {seen!r}"
            if select.select([proc.stderr], [], [], 1)[0]:
                chunk = os.read(proc.stderr.fileno(), 4096)
                assert chunk, f"provision new ended before asking: {seen!r}"
                seen += chunk
        assert not (tmp_path / "new").exists()
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stderr.close()
    assert not (tmp_path / "new").exists()


def test_what_provision_new_keeps_in_the_home_is_private_under_umask_000(home, tmp_path):
    """cookiecutter's replay file (the answers given) and its folders, made under the home."""
    result = subprocess.run([sys.executable, "-m", "zenprovision", "new", "open-umask", "--cloud", "local",
                             "--output-dir", str(tmp_path / "recipes"), "--no-input"],
                            capture_output=True, text=True, timeout=240, preexec_fn=lambda: os.umask(0))
    assert result.returncode == 0, result.stderr
    found = {str(p.relative_to(home)): p.stat().st_mode & 0o777 for p in home.rglob("*")}
    assert found["cookiecutter/replay/recipe.json"] == 0o600
    assert found["cookiecutter/replay"] == found["cookiecutter/templates"] == 0o700
    assert set(found.values()) <= {0o600, 0o700}, found
