"""The local stack's servers, deployed for real: whose they are, where they listen, what they see.

Issue 12, items 1 (another home's server), 2 (loopback only), 3 (a failed create can be
destroyed) and 15 (environment, file modes).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
from pathlib import Path

import psutil
import pytest

from tests.reliability.conftest import gone, recorded_groups

CANARY = "canary-7f3a9c-not-for-servers"
pytestmark = pytest.mark.slow


def deploy(cli, home: Path, *config: str, env: dict | None = None):
    args = [item for pair in config for item in ("-c", pair)]
    return cli("recipe", "local", "--stack", "dev", *args, "--yes", env={"ZENPROVISION_HOME": str(home), **(env or {})})


def destroy(cli, home: Path):
    return cli("destroy", "dev", "--yes", env={"ZENPROVISION_HOME": str(home)})


def server_of(home: Path) -> psutil.Process:
    record = json.loads((home / "local" / "dev" / "mlserver" / "mlserver.pid").read_text())
    return psutil.Process(record["pid"])


def as_ipv4(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


def test_deploy_and_destroy_in_one_home_leave_another_homes_server_running(tmp_path, cli):
    outer = tmp_path / "h"
    inner = outer / "local" / "dev" / "mlserver-b"  # its server's command line holds outer's server folder
    try:
        assert deploy(cli, inner).code == 0
        theirs = server_of(inner)
        assert str(outer / "local" / "dev" / "mlserver") in " ".join(theirs.cmdline())
        assert deploy(cli, outer).code == 0
        assert theirs.is_running(), "deploying the outer home killed the inner home's server"
        assert destroy(cli, outer).code == 1  # its folder holds the inner home: refused, but only after
        assert theirs.is_running(), "destroying the outer home killed the inner home's server"
        assert destroy(cli, inner).code == 0
        assert gone([theirs])
        shutil.rmtree(inner)
        assert destroy(cli, outer).code == 0
    finally:
        for process in recorded_groups(inner) + recorded_groups(outer):
            try:
                process.kill()
            except psutil.Error:
                pass


def test_a_local_stack_listens_on_loopback_only_sees_no_secret_and_keeps_its_files_private(home, cli):
    previous = os.umask(0)  # the most permissive caller
    try:
        result = deploy(cli, home, "orchestrator=dask", "dask_workers=2", env={"AWS_SECRET_ACCESS_KEY": CANARY})
    finally:
        os.umask(previous)
    assert result.code == 0, result.err
    servers = recorded_groups(home)
    try:
        listening = [(p.pid, c.laddr) for p in servers for c in p.net_connections("inet")
                     if c.status == psutil.CONN_LISTEN]
        assert len({pid for pid, _ in listening}) >= 4  # MLServer, scheduler, two workers (and nannies)
        assert {as_ipv4(addr.ip) for _, addr in listening} == {"127.0.0.1"}, listening
        for process in servers:
            assert CANARY not in process.environ().values(), process.cmdline()
        assert home.stat().st_mode & 0o777 == 0o700
        exposed = [str(p) for p in home.rglob("*") if p.stat().st_mode & 0o077 and not p.is_symlink()]
        assert exposed == [], exposed[:5]
    finally:
        assert destroy(cli, home).code == 0
    assert gone(servers)


def test_a_failed_create_is_one_line_naming_its_log_and_destroy_removes_the_stack(home, cli):
    with socket.socket() as taken:  # a port already in use: MLServer cannot start
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = deploy(cli, home, f"model_server_port={taken.getsockname()[1]}")
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.err
    log = Path(re.search(r"its log: (\S+)", errors[0]).group(1))
    assert log.is_file() and home / "logs" in log.parents and log.read_text().strip()
    assert not (home / "local" / "dev" / "mlserver").exists()
    assert recorded_groups(home) == []
    result = destroy(cli, home)
    assert result.code == 0, result.err
    assert not (home / "local" / "dev").exists()
