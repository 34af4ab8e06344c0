"""A port chosen for MLServer or a Dask scheduler that another process takes before the server
binds it is chosen again (free_port can only say what is free now); a port the user chose is
never replaced."""

import itertools
import socket

import pytest

from zenprovision.blocks import local, processes

BIND_ERROR = ("ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', {port}): "
              "address already in use\n")


@pytest.mark.parametrize(("log", "wanted", "again"), [
    (BIND_ERROR.format(port=52891), 0, True),  # our HTTP port was taken
    (BIND_ERROR.format(port=52891), 52891, False),  # the user's: their error to see
    (BIND_ERROR.format(port=52891), 8080, True),  # the user's HTTP port is fine; our gRPC port was taken
    ("E0000 Failed to bind to address 127.0.0.1:40001; Address already in use\n", 0, True),
    ("Traceback ...\nValueError: bad settings\n", 0, False),  # any other failure is not retried
])
def test_only_a_lost_port_of_ours_is_chosen_again(tmp_path, log, wanted, again):
    (tmp_path / "mlserver.log").write_text("INFO: starting\n" + log)
    assert processes.lost_a_port_we_chose(tmp_path / "mlserver.log", wanted) is again
    assert processes.lost_a_port_we_chose(tmp_path / "missing.log", 0) is False


@pytest.mark.slow
def test_the_server_starts_on_a_new_port_when_its_port_was_taken_meanwhile(tmp_path, monkeypatch):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        real, calls = processes.free_port, itertools.count()
        monkeypatch.setattr(processes, "free_port", lambda host="127.0.0.1": taken if next(calls) == 0 else real(host))
        provider = local.MLServerProvider()
        root = tmp_path / "mlserver"
        created = provider.create({"root": str(root), "port": 0, "log_dir": str(tmp_path / "logs")})
        try:
            assert created.outs["http_port"] != taken
            assert processes.http_ok(f"{created.outs['endpoint']}/v2/health/ready", timeout=5)
        finally:
            provider.delete(created.id, created.outs)
    assert not root.exists()


@pytest.mark.slow
def test_the_dask_scheduler_starts_on_a_new_port_when_its_port_was_taken_meanwhile(tmp_path, monkeypatch):
    from zenprovision.blocks.dask_cluster import DaskClusterProvider

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, not listening: the scheduler cannot bind it, nobody answers on it
        taken = held.getsockname()[1]
        real, calls = processes.free_port, itertools.count()
        monkeypatch.setattr(processes, "free_port", lambda host="127.0.0.1": taken if next(calls) == 0 else real(host))
        provider = DaskClusterProvider()
        created = provider.create({"root": str(tmp_path / "dask"), "workers": 1, "log_dir": str(tmp_path / "logs")})
        try:
            assert not created.outs["scheduler_address"].endswith(f":{taken}")
        finally:
            provider.delete(created.id, created.outs)
