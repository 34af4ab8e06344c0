"""A writer killed (``kill -9``) between writing its temp file and renaming it leaves the temp
file; the next write of that target (a file in the home), or the resume of that run (an artifact),
removes it. A temp file whose writer still lives is never removed: its rename must succeed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from zenprovision import atomic, get_step_context, pipeline, step
from zenprovision.atomic import atomic_write_text

# A child that writes ``target`` and stops between its temp file and the rename: "ready" once the
# temp file is complete, then it waits to be killed (or lives on, a writer mid-write).
WRITER = """
import os, sys, time
from pathlib import Path
real = os.replace
def stuck(src, dst):
    print("ready", flush=True)
    time.sleep(600)
os.replace = stuck
kind, where, name = sys.argv[1:]
if kind == "home":
    from zenprovision.atomic import atomic_write_text
    atomic_write_text(Path(where) / name, "from the killed writer\\n")
else:
    from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
    LocalArtifactStore({"path": Path(where).as_uri()}).write_bytes(name, b"from the killed writer")
"""


class Writer:
    """A writer process stopped between its temp file and its rename."""

    def __init__(self, kind: str, where: Path, name: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, kind, str(where), name],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def writers():
    started: list[Writer] = []

    def start(kind: str, where: Path, name: str) -> Writer:
        started.append(Writer(kind, where, name))
        return started[-1]

    yield start
    for writer in started:
        if writer.proc.poll() is None:
            writer.kill()


def temps(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if ".tmp" in p.name}


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_a_temp_file_of_a_gone_process_of_this_machine_is_stale():
    name = atomic.temp_name("data.pkl")
    mine, gone = f"-{os.getpid()}-", f"-{dead_pid()}-"
    assert atomic.is_stale_temp(name.replace(mine, gone))
    assert not atomic.is_stale_temp(name)  # this process: a live writer
    assert not atomic.is_stale_temp(name.replace(mine, f"-{os.getppid()}-"))  # another live process
    other_machine = name.replace(f".tmp-{atomic._machine()}-", ".tmp-00000000-")
    assert not atomic.is_stale_temp(other_machine.replace(mine, gone))  # its PIDs are not ours to judge
    assert not atomic.is_stale_temp(f"data.pkl.tmp-{'ab' * 16}")  # an earlier version's: whose, unknown
    assert not atomic.is_stale_temp(name.replace(mine, gone) + ".pkl")  # not a temp file name
    assert not atomic.is_stale_temp(name.replace(mine, "-99999999999-"))


def test_the_next_write_of_a_file_in_the_home_removes_a_killed_writers_temp_and_keeps_a_live_ones(home, writers):
    stacks = home / "stacks"
    atomic_write_text(stacks / "dev.yaml", "name: dev\n")
    killed = writers("home", stacks, "dev.yaml")
    killed.kill()
    stale = temps(stacks)
    assert len(stale) == 1 and (stacks / min(stale)).read_text() == "from the killed writer\n"
    live = writers("home", stacks, "dev.yaml")
    writing = temps(stacks) - stale
    other = writers("home", stacks, "other.yaml")
    other.kill()
    others = temps(stacks) - stale - writing
    atomic_write_text(stacks / "dev.yaml", "name: dev\nlabels: {}\n")
    assert (stacks / "dev.yaml").read_text() == "name: dev\nlabels: {}\n"
    assert temps(stacks) == writing | others  # another target's temp: that target's next write removes it
    live.kill()
    atomic_write_text(stacks / "dev.yaml", "name: dev\n")
    atomic_write_text(stacks / "other.yaml", "name: other\n")
    assert temps(stacks) == set()


@pytest.fixture
def local_stack(home, tmp_path, monkeypatch) -> str:
    from tests.runtime.conftest import make_stack
    from tests.runtime.pipelines import shapes

    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setattr(shapes, "MARKERS", markers)  # read by the steps, which run in this process
    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    return "rt"


def test_resuming_a_run_removes_the_temp_files_its_killed_writers_left_and_keeps_a_live_writers(
        local_stack, home, writers, tmp_path):
    from tests.runtime.pipelines.shapes import breaking
    from zenprovision.runtime.runner import run_pipeline

    failed = run_pipeline(breaking, local_stack, {}, in_process=True, raise_on_failure=False)
    assert failed.failed_step == "fragile"
    store, folder = home / "artifacts", home / "artifacts" / "runs" / failed.run_id
    writers("store", store, f"runs/{failed.run_id}/fragile.pkl").kill()  # the run's own step, killed
    live = writers("store", store, f"runs/{failed.run_id}/.independent.result.json")  # e.g. a Dask task going on
    earlier = folder / f"after.pkl.tmp-{'ab' * 16}"  # an earlier version's temp file: whose, unknown
    earlier.write_bytes(b"")
    before = temps(folder)
    assert len(before) == 3
    (tmp_path / "markers" / "fixed").write_text("yes")
    resumed = run_pipeline(breaking, local_stack, {}, resume=failed.run_id, in_process=True)
    assert resumed.status == "succeeded"
    assert temps(folder) == {n for n in before if f"-{live.proc.pid}-" in n} | {earlier.name}
    assert temps(home / "artifacts" / "runs" / resumed.run_id) == set()


@step
def plant(dead: int) -> int:
    """A temp file of a writer that was killed in this run (a pool worker, say) before its rename."""
    context = get_step_context()
    folder = Path(context.artifact_store.path(f"runs/{context.run_id}"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / atomic.temp_name("lost.pkl").replace(f"-{os.getpid()}-", f"-{dead}-")).write_bytes(b"")
    return dead


@pipeline
def planting(dead: int = 0):
    plant(dead=dead)


def test_a_run_removes_the_temp_files_its_own_killed_writers_left_when_it_ends(local_stack, home):
    summary = planting.run(stack=local_stack, in_process=True, dead=dead_pid())
    assert summary.status == "succeeded"
    assert temps(home / "artifacts" / "runs" / summary.run_id) == set()


def stale(name: str, pid: int) -> str:
    """``atomic.temp_name(name)`` as the process ``pid`` of this machine would have named it."""
    return atomic.temp_name(name).replace(f"-{os.getpid()}-", f"-{pid}-")


def model_folder(folder: Path, name: str) -> Path:
    folder.mkdir(mode=0o700)
    (folder / "model-settings.json").write_text(f'{{"name": "{name}"}}')
    return folder


def test_a_deploy_tidies_what_deploys_killed_mid_swap_left_in_the_model_repository(home):
    from sklearn.dummy import DummyClassifier

    from zenprovision.home import private_dir
    from zenprovision.runtime.model_servers.mlserver import MLServerModelServer

    repository = private_dir(home / "local" / "dev" / "mlserver" / "models")
    gone = dead_pid()
    model_folder(repository / "kept", "kept")
    never_swapped_in = model_folder(repository / stale(".kept", gone), "kept")
    swapped_out = model_folder(repository / stale(".lost~retired", gone), "lost")  # killed between the renames
    replaced = model_folder(repository / stale(".kept~retired", gone), "kept")  # killed before removing it
    live = model_folder(repository / atomic.temp_name(".busy"), "busy")  # a deploy going on (this process)
    server = MLServerModelServer({"endpoint": "http://127.0.0.1:9", "model_repository": str(repository)})
    model = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    assert server._write_to_repository(model, "other") is None
    assert not never_swapped_in.exists() and not replaced.exists() and not swapped_out.exists()
    assert (repository / "lost" / "model-settings.json").read_text() == '{"name": "lost"}'  # served again on restart
    assert live.exists()
    assert sorted(p.name for p in repository.iterdir()) == sorted(["kept", "lost", "other", live.name])


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x" * 129, "iris~retired", "two words"])
def test_a_model_name_that_cannot_be_a_folder_of_the_repository_is_refused_before_anything_is_written(home, name):
    from sklearn.dummy import DummyClassifier

    from zenprovision.errors import InputError
    from zenprovision.home import private_dir
    from zenprovision.runtime.model_servers.mlserver import MLServerModelServer

    repository = private_dir(home / "local" / "dev" / "mlserver" / "models")
    server = MLServerModelServer({"endpoint": "http://127.0.0.1:9", "model_repository": str(repository)})
    with pytest.raises(InputError, match="cannot name a model folder") as refused:
        server.deploy(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), name)
    assert refused.value.exit_code == 2 and "\n" not in str(refused.value)
    assert list(repository.iterdir()) == [] and sorted(p.name for p in repository.parent.iterdir()) == ["models"]
