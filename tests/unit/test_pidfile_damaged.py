"""A damaged server pid file is an error naming the file and what to do, never "no server":
taking it for that started a second MLServer on redeploy and orphaned the first on destroy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.conftest import servers_under
from zenprovision.blocks import processes
from zenprovision.blocks.local import MLServerProvider
from zenprovision.errors import CorruptFileError

DAMAGED = ["garbage\n", "", "[1, 2]", '{"pid": "x", "started": 1.0}', '{"pid": 12}', "\xff\xfe"]


@pytest.mark.parametrize("text", DAMAGED)
def test_a_damaged_pid_file_is_an_error_naming_it(tmp_path, text):
    pid_file = processes.PidFile(tmp_path / "mlserver.pid")
    pid_file.path.write_bytes(text.encode("latin-1"))
    for read in (pid_file.read, pid_file.running_pid):
        with pytest.raises(CorruptFileError) as damaged:
            read()
        assert damaged.value.message.startswith(f"server pid file {pid_file.path} ")
        assert "remove the file and run the command again" in damaged.value.hint
        assert damaged.value.exit_code == 2


def test_an_unreadable_pid_file_is_an_error_too(tmp_path):
    pid_file = processes.PidFile(tmp_path / "mlserver.pid")
    pid_file.path.mkdir()
    with pytest.raises(CorruptFileError, match=f"server pid file {pid_file.path} cannot be read"):
        pid_file.read()


def test_no_pid_file_means_no_server(tmp_path):
    pid_file = processes.PidFile(tmp_path / "mlserver.pid")
    assert pid_file.read() is None and pid_file.running_pid() is None
    processes.stop(pid_file)  # nothing to stop


def test_stop_keeps_a_damaged_pid_file_and_its_server(tmp_path):
    """The hint names the process running in the server's folder, which is left alone."""
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path)
    try:
        pid_file = processes.PidFile(tmp_path / "mlserver.pid")
        pid_file.path.write_text("garbage")
        with pytest.raises(CorruptFileError) as damaged:
            processes.stop(pid_file)
        assert f"PID {server.pid} runs in its folder" in damaged.value.hint
        assert pid_file.path.read_text() == "garbage" and server.poll() is None
    finally:
        server.kill()
        server.wait()


def test_the_model_server_resource_neither_restarts_nor_deletes_past_a_damaged_pid_file(tmp_path):
    root = tmp_path / "mlserver"
    root.mkdir()
    (root / "mlserver.pid").write_text("garbage")
    props = {"root": str(root), "port": 0, "http_port": 0}
    provider = MLServerProvider()
    with pytest.raises(CorruptFileError):
        provider.diff(str(root), props, props)  # was: "dead", so an update started a second server
    with pytest.raises(CorruptFileError):
        provider.read(str(root), props)
    with pytest.raises(CorruptFileError):
        provider.delete(str(root), props)  # was: the folder and its pid file removed, the server orphaned
    with pytest.raises(CorruptFileError):
        provider.create(props)  # an interrupted create's leftovers: kept for the user to check
    assert (root / "mlserver.pid").read_text() == "garbage"


@pytest.mark.slow
def test_redeploy_and_destroy_stop_at_a_damaged_pid_file_until_the_user_clears_it(home, cli):
    assert cli("recipe", "local", "--stack", "dev", "--yes").code == 0
    [first] = servers_under(home)
    pid_file = home / "local" / "dev" / "mlserver" / "mlserver.pid"
    assert json.loads(pid_file.read_text())["pid"] == first.pid
    pid_file.write_text("garbage")

    redeploy = cli("recipe", "local", "--stack", "dev", "--yes")
    assert redeploy.code == 2 and len(redeploy.err.strip().splitlines()) == 1, redeploy.err
    assert f"server pid file {pid_file} is damaged" in redeploy.err
    assert f"PID {first.pid} runs in its folder" in redeploy.err
    assert servers_under(home) == [first]  # no second server

    destroy = cli("destroy", "dev", "--yes")
    assert destroy.code != 0 and f"server pid file {pid_file} is damaged" in destroy.err, destroy.err
    assert first.is_running() and pid_file.read_text() == "garbage"

    os.kill(first.pid, signal.SIGTERM)  # what the hint says: check and stop it, remove the file
    psutil.wait_procs([first], timeout=30)
    pid_file.unlink()
    destroy = cli("destroy", "dev", "--yes")
    assert destroy.code == 0, destroy.err
    assert servers_under(home) == [] and not pid_file.parent.exists()
