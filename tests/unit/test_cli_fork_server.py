"""``run_cli`` forks its commands from a warm process (tests/cli_zygote.py): what a test sees
must be what a fresh ``python -m zenprovision`` gives, or every CLI test checks something else."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import datetime, timezone

import psutil
import pytest

from tests import cli_zygote
from tests.conftest import forking, run_cli
from zenprovision.interpreter import python_module_argv
from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig
from zenprovision.testing import run_under_mocks

pytestmark = pytest.mark.skipif(not cli_zygote.supported(),
                                reason="fork servers need Linux and a Popen._execute_child they know")


@pytest.fixture(scope="module", autouse=True)
def servers_on():
    """These tests check the servers, in any run: on for this module where the run has them off."""
    if cli_zygote._settings is not None:
        yield
        return
    with forking():
        yield


def fresh(*args: str, env: dict | None = None, input: str | None = None) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "zenprovision", *args], capture_output=True, text=True,
                          input=input, timeout=120, env={**os.environ, **(env or {}), "COLUMNS": "200"})
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("args", [
    ("stacks", "--json"),                       # data on stdout, exit 0
    ("recipe", "local", "--stack", "Bad_Name", "--yes"),  # one line on stderr, exit 2
    ("output", "ghost"),
    ("--help",),
])
def test_a_forked_command_answers_as_a_fresh_interpreter(home, args):
    forked = run_cli(*args)
    assert (forked.code, forked.out, forked.err) == fresh(*args)


def test_the_callers_environment_folder_and_stdin_reach_the_command(home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = run_cli("home", "show", env={"ZENPROVISION_HOME": "relative"})
    assert shown.code == 0 and str(tmp_path / "relative") in shown.out, shown.err
    assert (shown.code, shown.out, shown.err) == fresh("home", "show", env={"ZENPROVISION_HOME": "relative"})
    _save_stack("s1", tmp_path / "relative")
    for answer in ("n\n", ""):  # a prompt reads the caller's input
        answered = run_cli("destroy", "s1", input=answer, env={"ZENPROVISION_HOME": "relative"})
        assert "Destroy stack 's1'" in answered.err
        assert (answered.code, answered.out, answered.err) == fresh("destroy", "s1", input=answer,
                                                                    env={"ZENPROVISION_HOME": "relative"})


def _save_stack(name, home):
    """A stack config that destroy asks about (a prompt needs a stack that exists)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZENPROVISION_HOME", str(home))
        store.save(StackConfig(
            name=name, recipe="local", engine="embedded", created_at=datetime.now(timezone.utc), components={
                "artifact_store": {"flavor": "local", "config": {"path": f"file://{home}/a"}},
                "orchestrator": {"flavor": "local", "config": {"workers": 1}},
                "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:9"}}}))


@pytest.fixture
def silent_stdin():
    """This process's stdin (the command's, without ``input``) a pipe that never delivers a line."""
    saved, (read, write) = os.dup(0), os.pipe()
    os.dup2(read, 0)
    yield
    os.dup2(saved, 0)
    for fd in (saved, read, write):
        os.close(fd)


def test_a_command_past_its_timeout_is_killed(home, silent_stdin):
    _save_stack("s1", home)
    with pytest.raises(subprocess.TimeoutExpired):  # waits at the confirmation for an answer that never comes
        run_cli("destroy", "s1", timeout=3)
    server = cli_zygote._servers.get("cli")  # none with ZP_TEST_FRESH_CLI=1: subprocess.run kills its own
    if server is not None:
        _, alive = psutil.wait_procs(psutil.Process(server.proc.pid).children(), timeout=30)
        assert not alive  # killed, as subprocess.run kills it, and reaped


def test_a_request_answered_before_its_sender_returns_is_no_error(monkeypatch):
    """On a loaded machine the server can read a request, answer and close before the sender's
    next step: nothing may be sent once the whole request went (an empty send fails then)."""
    ours, server = socket.socketpair()
    real = socket.send_fds

    def answered_at_once(sock, buffers, fds):
        sent = real(sock, buffers, fds)
        server.recv(1 << 16)
        server.close()  # answered and closed
        return sent

    monkeypatch.setattr(socket, "send_fds", answered_at_once)
    with ours:
        cli_zygote._send(ours, b"a whole request", [])


def test_a_variable_read_while_importing_makes_the_child_a_fresh_interpreter():
    """The server imported the CLI with its own environment: a child whose environment differs
    in a variable read then (or in one the interpreter reads) must not reuse those imports."""
    namespace: dict = {"__name__": "server"}
    exec(compile(cli_zygote.SERVER.read_text(), str(cli_zygote.SERVER), "exec"), namespace)
    reads = namespace["_Reads"]()
    with reads:
        os.environ.get("ZP_READ_AT_IMPORT")
    same_start, started = namespace["_same_start"], {"ZP_READ_AT_IMPORT": "a", "OTHER": "x"}
    assert same_start({"ZP_READ_AT_IMPORT": "a", "OTHER": "y"}, reads, started)
    assert not same_start({"ZP_READ_AT_IMPORT": "b", "OTHER": "x"}, reads, started)
    assert not same_start({"OTHER": "x"}, reads, started)
    assert not same_start({**started, "PYTHONWARNINGS": "error"}, reads, started)

    iterated = namespace["_Reads"]()
    with iterated:  # fsspec reads its FSSPEC_* variables by going through the whole environment
        exec("dict(os.environ)", {"__name__": "fsspec.config", "os": os})
    assert same_start({**started, "OTHER": "y"}, iterated, started)
    assert not same_start({**started, "FSSPEC_S3": "{}"}, iterated, started)
    with iterated:  # any other module that does so depends on every variable
        exec("dict(os.environ)", {"__name__": "elsewhere", "os": os})
    assert not same_start({**started, "OTHER": "y"}, iterated, started)


# --- the embedded engine's workers that a test starts in this process ---------------------------


def start_worker(env: dict | None = None) -> subprocess.Popen:
    """A worker as ``engine.Worker.start`` starts it (``python -P -m``, a descriptor passed along)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        return subprocess.Popen(python_module_argv(cli_zygote.ENGINE_WORKER), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(theirs.fileno(),),
                                env={**os.environ, **(env or {}), "ZP_ENGINE_CHANNEL": str(theirs.fileno())})


def test_a_worker_is_a_forked_child_of_this_process_with_its_pipes_and_exit_code():
    given_no_job = start_worker()
    assert forked(given_no_job.pid) is FORKING  # the server's, forked (not a fresh interpreter)
    assert psutil.Process(given_no_job.pid).ppid() == os.getpid()  # ours to wait for and to signal
    assert given_no_job.communicate(b"", timeout=60) == (b"", b"") and given_no_job.returncode == 0

    bad_job = start_worker()
    out, err = bad_job.communicate(b"{not json", timeout=60)
    assert bad_job.returncode == 1 and b"JSONDecodeError" in err and out == b""

    killed = start_worker()
    killed.kill()
    assert killed.wait(timeout=60) == -signal.SIGKILL
    killed.stdin.close()
    killed.stdout.close()
    killed.stderr.close()



FORKING = not os.environ.get("ZP_TEST_FRESH_CLI")  # unless every process is asked to start fresh


def forked(pid: int) -> bool:
    return str(cli_zygote.SERVER) in " ".join(psutil.Process(pid).cmdline())


def test_a_program_started_with_dash_p_is_forked_without_the_current_folder_on_its_path(tmp_path, monkeypatch):
    """``python -P -m`` (zenprovision.interpreter) leaves the folder it starts in off the import
    path: forked, the program must not find a module there either (a fresh one would not)."""
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "Pulumi.yaml").write_text("name: probe\nruntime:\n  name: python\n")
    (recipe / "__main__.py").write_text(
        "import importlib.util, os, sys\nimport pulumi\n"
        "pulumi.export('found', importlib.util.find_spec('only_in_the_folder') is not None)\n"
        "pulumi.export('folder_on_path', os.getcwd() in sys.path)\n")
    here = tmp_path / "here"
    here.mkdir()
    (here / "only_in_the_folder.py").write_text("")
    monkeypatch.chdir(here)
    started = []
    real = cli_zygote.WarmPopen._execute_child

    def noted(self, *args, **kwargs):
        real(self, *args, **kwargs)
        started.append(forked(self.pid))

    monkeypatch.setattr(cli_zygote.WarmPopen, "_execute_child", noted)
    record = run_under_mocks(recipe, {})
    assert started == [FORKING]  # forked from the warm server
    assert record.exports["found"] is False and record.exports["folder_on_path"] is False


# --- when the servers are used, and when they fail --------------------------------------------


def test_only_a_run_without_slow_tests_forks_and_never_on_request(monkeypatch):
    monkeypatch.delenv("ZP_TEST_FRESH_CLI", raising=False)
    assert cli_zygote.enabled(runs_slow_tests=False)  # the quick loop (this module runs only where supported)
    assert not cli_zygote.enabled(runs_slow_tests=True)  # the README's command and CI: every process fresh
    monkeypatch.setenv("ZP_TEST_FRESH_CLI", "1")
    assert not cli_zygote.enabled(runs_slow_tests=False)


@pytest.fixture
def own_cli_server():
    """This test's own CLI server state; the module's server is put back afterwards."""
    saved = cli_zygote._servers.pop("cli", None)
    yield
    replaced = cli_zygote._servers.pop("cli", None)
    if replaced is not None and replaced is not saved and replaced.usable():
        replaced.stop()
    cli_zygote._failed.discard("cli")
    if saved is not None:
        cli_zygote._servers["cli"] = saved


def test_a_server_that_does_not_start_leaves_commands_fresh_with_a_warning(home, monkeypatch, own_cli_server):
    monkeypatch.setattr(cli_zygote, "BOOTSTRAP", "print('not ready: broken on purpose')")
    with pytest.warns(UserWarning, match="cli fork server did not start .*broken on purpose.*start fresh"):
        helped = run_cli("--help")
    assert helped.code == 0 and "Usage" in helped.out
    assert "cli" not in cli_zygote._servers and run_cli("--help").code == 0  # fresh from then on, no retry


def test_a_dead_server_is_replaced_and_a_request_cut_short_is_survived(home, own_cli_server):
    assert run_cli("--help").code == 0
    first = cli_zygote._servers["cli"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as caller:  # connects, sends half a request, goes
        caller.connect(first.path)
        caller.sendall(b"\x00\x00\x10\x00{")
    assert run_cli("--help").code == 0 and cli_zygote._servers["cli"] is first  # served on
    first.proc.kill()
    first.proc.wait()
    assert run_cli("--help").code == 0
    assert cli_zygote._servers["cli"] is not first and cli_zygote._servers["cli"].usable()
