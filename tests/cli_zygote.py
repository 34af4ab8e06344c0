"""Processes the tests start, forked from warm ones: a fresh ``python -m zenprovision`` costs
~0.1 s of CPU in imports (pydantic, the stack models, click; ~150 calls a quick loop), an
embedded engine worker ~0.2 s in the Pulumi SDK (~50 in the tests' own process).

Per pytest process, a server (``cli_zygote_server.py``) of each kind imports once and forks
a child per request; the child takes the caller's descriptors (passed over a Unix socket),
environment, working folder and umask and runs ``python -m MODULE`` as the interpreter would.
It is a real, separate process; where the environment differs from the server's in a
variable read while importing (or in one the interpreter reads, PYTHON*), it execs a fresh
interpreter instead. Two kinds:

- ``run_cli``'s commands (``run``): the exit code comes back as ``subprocess.run``'s would,
  a negative signal number when killed; the server is their parent.
- the engine's workers and recipes under mocks that a test starts in its own process
  (``WarmPopen``): handed over to become children of that process, for ``Popen`` to wait for.

Used only where it is safe and asked for (``enabled``): Linux, a ``Popen._execute_child`` with
the parameters ``WarmPopen`` knows, and a run that leaves the slow tests out (the quick loop,
tests/conftest.py). A run with slow tests, as the README's test command and CI, starts every
process fresh: a forked child inherits what the server imported (a submodule another command
imported, a warning printed once, the hash seed, the time zone as the C library read it), so
only fresh interpreters show those as a user would. ``ZP_TEST_FRESH_CLI=1`` starts every one of
them fresh in any run; a server that cannot start does the same, with a warning.
"""

from __future__ import annotations

import ctypes
import inspect
import json
import locale
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

SERVER = Path(__file__).parent / "cli_zygote_server.py"
# run as a file, not imported: its interpreter's path and __main__ are set as `python -m` sets them
BOOTSTRAP = f"exec(compile(open({str(SERVER)!r}).read(), {str(SERVER)!r}, 'exec'))"


class Zygote:
    """A fork server of ``kind`` ("cli" or "pulumi", see ``cli_zygote_server.PREIMPORTS``)."""

    def __init__(self, env: dict[str, str], kind: str = "cli") -> None:
        # an abstract socket (Linux): no file to outlive a server, and no length limit of a path
        name = f"zenprovision-test-zygote-{os.getpid()}-{kind}-{uuid.uuid4().hex[:12]}"
        self.path = f"\0{name}"
        self.owner = os.getpid()
        self.proc = subprocess.Popen([sys.executable, "-c", BOOTSTRAP, name, kind], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        answer = self.proc.stdout.readline().strip()
        if answer != "ready":
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"the {kind} fork server did not start (exit code {self.proc.returncode}): {answer}")

    def usable(self) -> bool:
        return os.getpid() == self.owner and self.proc.poll() is None

    def stop(self) -> None:
        self.proc.stdin.close()  # it exits when its stdin closes
        self.proc.stdout.close()
        self.proc.wait(timeout=30)

    def run(self, args: list[str], env: dict[str, str], input: str | None, timeout: float) -> tuple[int, str, str]:
        """``subprocess.run([python, -m, zenprovision, *args], capture_output=True, text=True, ...)``."""
        encoding = locale.getpreferredencoding(False)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if input is not None else (0, None)  # else this process's stdin, as subprocess.run
        umask = os.umask(0o077)
        os.umask(umask)
        request = json.dumps({"args": args, "env": env, "cwd": os.getcwd(), "umask": umask,
                              "targets": [0, 1, 2], "module": "zenprovision"}).encode()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
            message = struct.pack("!I", len(request)) + request
            _send(conn, message, [in_r, out_w, err_w])
        finally:
            for fd in (out_w, err_w, *((in_r,) if in_w is not None else ())):
                os.close(fd)
        reply = conn.makefile("rb")
        pid = int(reply.readline())
        deadline = time.monotonic() + timeout
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        pending = input.encode(encoding) if input is not None else b""
        with selectors.DefaultSelector() as selector:
            selector.register(out_r, selectors.EVENT_READ)
            selector.register(err_r, selectors.EVENT_READ)
            if pending:
                selector.register(in_w, selectors.EVENT_WRITE)
            elif in_w is not None:
                os.close(in_w)  # empty input: the command reads end-of-file at once
            open_fds = {out_r, err_r} | ({in_w} if pending else set())
            while open_fds:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill(pid, conn, open_fds)
                    raise subprocess.TimeoutExpired([sys.executable, "-m", "zenprovision", *args], timeout)
                for key, _ in selector.select(left):
                    fd = key.fd
                    if fd == in_w:
                        try:
                            pending = pending[os.write(fd, pending[:65536]):]
                        except BrokenPipeError:
                            pending = b""
                        if not pending:
                            selector.unregister(fd)
                            os.close(fd)
                            open_fds.discard(fd)
                        continue
                    data = os.read(fd, 65536)
                    if data:
                        chunks[fd].append(data)
                    else:
                        selector.unregister(fd)
                        os.close(fd)
                        open_fds.discard(fd)
        conn.settimeout(max(deadline - time.monotonic(), 1.0))
        try:
            code = int(reply.readline())
        except (OSError, ValueError):
            self._kill(pid, conn, set())
            raise subprocess.TimeoutExpired([sys.executable, "-m", "zenprovision", *args], timeout) from None
        conn.close()
        return code, _text(b"".join(chunks[out_r]), encoding), _text(b"".join(chunks[err_r]), encoding)

    def start_child(self, module: str, env: dict[str, str], cwd: str, fds: dict[int, int],
                    safe_path: bool = False) -> int:
        """A ``python -m module`` child of this process (a subreaper meanwhile), with descriptor
        ``fd`` at number ``target`` for each ``target: fd`` of ``fds``; its pid. ``safe_path``:
        ``python -P -m module``, without the current folder on its import path."""
        umask = os.umask(0o077)
        os.umask(umask)
        request = json.dumps({"args": [], "module": module, "env": env, "cwd": cwd, "umask": umask,
                              "targets": list(fds), "detach": True, "safe_path": safe_path}).encode()
        message = struct.pack("!I", len(request)) + request
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn, _HAND_OVER:
            conn.connect(self.path)
            _set_subreaper(True)  # process-wide: one hand-over at a time (_HAND_OVER)
            try:
                _send(conn, message, list(fds.values()))
                reply = conn.makefile("rb")
                pid = int(reply.readline())
                if reply.readline() != b"detached\n":  # the go-between has exited: the child is ours
                    raise RuntimeError("the fork server did not hand its child over")
            finally:
                _set_subreaper(False)
        return pid

    @staticmethod
    def _kill(pid: int, conn: socket.socket, fds: set[int]) -> None:
        """As subprocess.run on a timeout: the command is killed (the server reaps it)."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for fd in fds:
            os.close(fd)
        conn.close()


def _send(conn: socket.socket, message: bytes, fds: list[int]) -> None:
    """The request with the descriptors, then what did not fit. Nothing more once it is all
    sent: the server may have answered and closed already, and even an empty send would fail."""
    sent = socket.send_fds(conn, [message], fds)
    if sent < len(message):
        conn.sendall(message[sent:])


_HAND_OVER = threading.Lock()  # two threads starting workers at once must not end each other's subreaper window


def _set_subreaper(on: bool) -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): an orphaned descendant becomes this process's child."""
    if ctypes.CDLL(None, use_errno=True).prctl(36, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _text(data: bytes, encoding: str) -> str:
    """As subprocess decodes with text=True: universal newlines."""
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


ENGINE_WORKER = "zenprovision.engines.embedded.runner"
PULUMI_PROGRAMS = (ENGINE_WORKER, "zenprovision.testing.program")  # what the "pulumi" server runs


def _pulumi_program(args: object) -> tuple[str, bool] | None:
    """The module of ``PULUMI_PROGRAMS`` that ``args`` run as ``python -m MODULE`` or, as the
    engine starts them (``zenprovision.interpreter``), ``python -P -m MODULE``, and whether -P
    is given; None for anything else."""
    if not isinstance(args, list) or len(args) not in (3, 4) or args[0] != sys.executable:
        return None
    flags, module = args[1:-2], args[-1]
    if args[-2] != "-m" or flags not in ([], ["-P"]) or module not in PULUMI_PROGRAMS:
        return None
    return module, flags == ["-P"]


# Popen._execute_child's parameters as WarmPopen reads them (Python 3.11 to 3.15); 3.10 has no
# process_group. Where they differ, subprocess.Popen is left alone.
EXECUTE_CHILD = ("self", "args", "executable", "preexec_fn", "close_fds", "pass_fds", "cwd", "env", "startupinfo",
                 "creationflags", "shell", "p2cread", "p2cwrite", "c2pread", "c2pwrite", "errread", "errwrite",
                 "restore_signals", "gid", "gids", "uid", "umask", "start_new_session", "process_group")


def supported() -> bool:
    """Linux (abstract sockets, a subreaper) and a Popen whose private hook WarmPopen matches."""
    if sys.platform != "linux" or tuple(inspect.signature(subprocess.Popen._execute_child).parameters) != EXECUTE_CHILD:
        return False
    try:
        _set_subreaper(False)  # what it is already: only asks whether the kernel has it
    except (OSError, AttributeError):
        return False
    return True


class WarmPopen(subprocess.Popen):
    """``subprocess.Popen``, except that the embedded engine's worker, ``python -m
    zenprovision.engines.embedded.runner`` as ``engine.Worker.start`` starts it, is forked from
    a server that has imported the Pulumi SDK (~0.2 s of CPU of each worker's ~0.25 s). The
    worker is a real child of this process (``wait``, ``poll``, ``kill``, its exit code), with
    its pipes, stderr, passed descriptors and environment; anything else starts as it would."""

    def _execute_child(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env,  # noqa: PLR0913
                       startupinfo, creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite,
                       errread, errwrite, restore_signals, gid, gids, uid, umask, start_new_session,
                       process_group):
        program = _pulumi_program(args)
        plain = (program is not None and executable is None
                 and preexec_fn is None and close_fds and cwd is None and not shell and restore_signals
                 and gid is None and gids is None and uid is None and umask < 0 and not start_new_session
                 and process_group == -1)
        server = _server("pulumi") if plain else None
        if server is None:
            return super()._execute_child(args, executable, preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
                                          creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite, errread,
                                          errwrite, restore_signals, gid, gids, uid, umask, start_new_session,
                                          process_group)
        fds = {0: p2cread if p2cread != -1 else 0, 1: c2pwrite if c2pwrite != -1 else 1,
               2: errwrite if errwrite != -1 else 2, **{fd: fd for fd in pass_fds}}
        environ = os.environ if env is None else env
        try:
            self.pid = server.start_child(program[0], {os.fsdecode(k): os.fsdecode(v) for k, v in environ.items()},
                                          os.getcwd(), fds, safe_path=program[1])
            self._child_created = True
        finally:  # what Popen closes in the parent once the child has its copies
            devnull = getattr(self, "_devnull", None)
            for child_end, our_end in ((p2cread, p2cwrite), (c2pwrite, c2pread), (errwrite, errread)):
                if child_end != -1 and our_end != -1 and child_end != devnull:
                    os.close(child_end)
            if devnull is not None:
                os.close(devnull)
            self._closed_child_pipe_fds = True


_servers: dict[str, Zygote] = {}
_failed: set[str] = set()  # kinds whose server did not start here: their processes start fresh
_settings: dict[str, str] | None = None


def _server(kind: str) -> Zygote | None:
    """This process's server of ``kind``, started on first use; None where not to be used."""
    if _settings is None or os.environ.get("ZP_TEST_FRESH_CLI") or kind in _failed:
        return None
    server = _servers.get(kind)
    if server is not None and os.getpid() != server.owner:
        return None  # a test's own fork: not its server
    if server is None or not server.usable():
        env = _settings
        if kind == "pulumi":
            env = {**env, "PYTHONUNBUFFERED": "1"}  # as engine.Worker.start starts its workers
        try:
            server = _servers[kind] = Zygote(env, kind=kind)
        except (OSError, RuntimeError) as exc:
            _failed.add(kind)
            _servers.pop(kind, None)
            warnings.warn(f"the {kind} fork server did not start ({exc}): its processes start fresh", stacklevel=2)
            return None
    return server


def enabled(runs_slow_tests: bool) -> bool:
    """Whether a run forks from warm servers: one without slow tests (the quick loop), on a
    system where it is safe, unless ZP_TEST_FRESH_CLI=1."""
    return not runs_slow_tests and supported() and not os.environ.get("ZP_TEST_FRESH_CLI")


def configure(env: dict[str, str]) -> None:
    """The environment the servers start with (each on first use); from then on they are used."""
    global _settings
    _settings = env


def run(args: list[str], env: dict[str, str], input: str | None, timeout: float) -> tuple[int, str, str]:
    server = _server("cli")
    if server is None:
        proc = subprocess.run([sys.executable, "-m", "zenprovision", *args], capture_output=True, text=True,
                              input=input, timeout=timeout, env=env)
        return proc.returncode, proc.stdout, proc.stderr
    return server.run(args, env, input, timeout)


def stop() -> None:
    global _settings
    for server in _servers.values():
        if server.usable():
            server.stop()
    _servers.clear()
    _failed.clear()
    _settings = None
