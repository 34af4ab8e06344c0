"""Local servers are started, recorded and stopped by their pid record only (issue 12, items 1 and 15)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.reliability.conftest import gone
from zenprovision.blocks import dask_cluster, local, processes

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]

DIES_BEFORE_RECORDING = """
import os, signal, sys
from pathlib import Path
from zenprovision.blocks import processes

def killed_while_recording(self, pid):  # the starter dies between spawning and recording
    Path(sys.argv[2]).write_text(str(pid))
    os.kill(os.getpid(), signal.SIGKILL)

processes.PidFile.write = killed_while_recording
root = Path(sys.argv[1])
processes.spawn([sys.executable, "-c", "import time; time.sleep(120)"], root / "s.log",
                processes.PidFile(root / "s.pid"), cwd=root)
"""


@pytest.fixture
def lookalike():
    started = []

    def start(*args: str) -> psutil.Process:
        proc = subprocess.Popen([*SLEEPER, *args], start_new_session=True)
        started.append(proc)
        return psutil.Process(proc.pid)

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_a_server_whose_starter_dies_before_recording_it_never_runs(tmp_path):
    child_file = tmp_path / "child"
    starter = subprocess.run([sys.executable, "-c", DIES_BEFORE_RECORDING, str(tmp_path), str(child_file)])
    assert starter.returncode == -signal.SIGKILL
    child = psutil.Process(int(child_file.read_text())) if psutil.pid_exists(int(child_file.read_text())) else None
    assert child is None or gone([child]), "an unrecorded server is still running"


@pytest.mark.parametrize("stop, markers", [
    (local._stop, lambda root: ["mlserver", "start", f"{root}/nested/local/dev/mlserver"]),
    (dask_cluster._stop, lambda root: ["dask", "worker", f"{root}/work-of-another-home"]),
])
def test_stop_never_touches_a_process_that_only_looks_like_ours(tmp_path, lookalike, stop, markers):
    root = tmp_path / "home" / "local" / "dev" / "server"
    root.mkdir(parents=True)
    other = lookalike(*markers(root))  # another home's server: its command line holds our root
    stop(root)
    time.sleep(0.3)
    assert other.is_running() and other.status() != psutil.STATUS_ZOMBIE


def test_stop_ignores_a_pid_that_now_belongs_to_another_process(tmp_path, lookalike):
    other = lookalike()
    pid_file = processes.PidFile(tmp_path / "s.pid")
    pid_file.path.write_text(json.dumps({"pid": other.pid, "started": other.create_time() - 100}))
    processes.stop(pid_file, timeout=1)
    assert other.is_running() and not pid_file.path.exists()


def test_stop_ends_the_group_even_when_its_leader_already_died(tmp_path):
    """A worker whose supervisor died is still ours: same group, started after it."""
    script = ("import subprocess, sys, time; from pathlib import Path\n"
              "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
              f"Path({str(tmp_path / 'child')!r}).write_text(str(c.pid))\n")
    pid_file = processes.PidFile(tmp_path / "s.pid")
    leader = processes.spawn([sys.executable, "-c", script], tmp_path / "s.log", pid_file, cwd=tmp_path)
    leader.wait(30)
    child = psutil.Process(int((tmp_path / "child").read_text()))
    assert child.is_running()
    processes.stop(pid_file, timeout=5)
    assert gone([child])


def test_servers_get_only_an_allow_listed_environment_and_a_private_umask(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-secret")
    monkeypatch.setenv("MLSERVER_HOST", "0.0.0.0")  # would rebind the server
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    script = ("import json, os; open('made', 'w').close();"
              "print(json.dumps({'env': sorted(os.environ), 'mode': os.stat('made').st_mode & 0o777}))")
    old = os.umask(0)
    try:
        proc = processes.spawn([sys.executable, "-c", script], tmp_path / "s.log",
                               processes.PidFile(tmp_path / "s.pid"), cwd=tmp_path)
        assert proc.wait(30) == 0
    finally:
        os.umask(old)
    seen = json.loads((tmp_path / "s.log").read_text().strip().splitlines()[-1])
    assert "AWS_SECRET_ACCESS_KEY" not in seen["env"] and "MLSERVER_HOST" not in seen["env"]
    assert {"PATH", "LC_ALL"} <= set(seen["env"])
    assert seen["mode"] == 0o600
    assert (tmp_path / "s.log").stat().st_mode & 0o777 == 0o600


def test_a_failed_create_removes_its_folder_and_keeps_the_log_elsewhere(tmp_path):
    root, logs = tmp_path / "local" / "dev" / "dask", tmp_path / "logs" / "dev"
    (root / "work").mkdir(parents=True)
    (root / "workers.log").write_text("Traceback ...\nboom\n")
    (root / "workers.pid").write_text("{}")
    error = processes.ServerFailed("dask workers", "exited with code 1 before it was ready", root / "workers.log")
    moved = processes.undo_create(root, str(logs), error)
    assert not root.exists()
    assert (logs / "workers.log").read_text() == "Traceback ...\nboom\n"
    assert str(moved) == f"dask workers exited with code 1 before it was ready; its log: {logs / 'workers.log'}"
    assert "\n" not in str(moved)


def test_the_recorded_pid_is_the_server_itself(tmp_path):
    """The gate execs the server in place: same PID and start time as recorded."""
    pid_file = processes.PidFile(tmp_path / "s.pid")
    proc = processes.spawn([*SLEEPER, "marker-for-this-test"], tmp_path / "s.log", pid_file, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while "marker-for-this-test" not in " ".join(psutil.Process(proc.pid).cmdline()):
            assert time.monotonic() < deadline, "the gate never handed over to the server"
            time.sleep(0.05)
        assert pid_file.running_pid() == proc.pid
    finally:
        processes.stop(pid_file, timeout=5)
    assert proc.poll() is not None and pid_file.running_pid() is None
    assert not Path(pid_file.path).exists()


def test_a_server_inherits_only_the_variables_it_is_told_to(tmp_path, monkeypatch):
    monkeypatch.setenv("ZP_NAMED", "wanted")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-secret")
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    proc = processes.spawn([sys.executable, "-c", script], tmp_path / "s.log", processes.PidFile(tmp_path / "s.pid"),
                           cwd=tmp_path, inherit=("ZP_NAMED", "ZP_NOT_SET"))
    assert proc.wait(30) == 0
    seen = json.loads((tmp_path / "s.log").read_text().strip().splitlines()[-1])
    assert seen["ZP_NAMED"] == "wanted" and "ZP_NOT_SET" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen


@pytest.mark.parametrize("names, ok", [(["AWS_ACCESS_KEY_ID", "_X1"], True), (["A=B"], False), (["1X"], False)])
def test_dask_worker_env_takes_variable_names_only(names, ok):
    result = dask_cluster.DaskClusterProvider().check({}, {"workers": 1, "worker_env": names})
    assert (not result.failures) is ok


def test_a_gate_killed_by_the_commands_ctrl_c_before_its_release_is_started_again(tmp_path, monkeypatch):
    """Ctrl-C to the command's process group can reach a server's gate in the instant before it
    has its own session; the create in flight must still finish (not fail with Broken pipe)."""
    real, started = processes._start_gated, []

    def first_one_interrupted(*args):
        proc = real(*args)
        if not started:
            proc.send_signal(signal.SIGINT)  # as if it were still in our process group
            deadline = time.monotonic() + 30
            while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:  # dead, not yet reaped
                assert time.monotonic() < deadline
                time.sleep(0.01)
        started.append(proc)
        return proc

    monkeypatch.setattr(processes, "_start_gated", first_one_interrupted)
    pid_file = processes.PidFile(tmp_path / "s.pid")
    proc = processes.spawn(SLEEPER, tmp_path / "s.log", pid_file, cwd=tmp_path)
    try:
        assert len(started) == 2 and started[0].returncode == -signal.SIGINT
        assert proc is started[1] and proc.poll() is None
        assert pid_file.read().pid == proc.pid
    finally:
        processes.stop(pid_file)
