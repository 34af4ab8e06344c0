"""The fork server behind ``tests.cli_zygote`` (run as ``python -c "exec(<this file>)" NAME KIND``,
listening on the abstract Unix socket NAME).

Imports what ``python -m MODULE`` imports once (the CLI, or a Pulumi program's process: the
embedded engine's worker, a recipe under mocks),
then forks one child per request, which becomes ``python -m MODULE ARGS`` with the caller's
stdin, stdout, stderr (and other descriptors), environment, working folder and umask. A
child that could not behave exactly as a fresh interpreter (the environment differs in a
variable read while importing, or ``zenprovision`` would be imported from another folder)
replaces itself with one (``exec``).

Not a module of the test package: it runs in its own interpreter, with the path and
``__main__`` that ``python -m`` would give it.
"""

import contextlib
import fcntl
import gc
import importlib
import importlib.machinery
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import warnings

# What each kind of process imports, so that a child does not import it again. Only modules:
# none of them is called here, and every environment variable they read while importing is noted.
PREIMPORTS = {
    "cli": [
        "zenprovision.cli", "zenprovision.cli.deploy_cmds", "zenprovision.cli.stack_cmds",
        "zenprovision.cli.run_cmds", "zenprovision.cli.kubeconfig_cmds", "zenprovision.cli.unlock_cmds",
        "zenprovision.cli.catalog_cmds", "zenprovision.lifecycle", "zenprovision.stacks.registry",
        "zenprovision.stacks.store", "zenprovision.runtime.metadata", "zenprovision.recipes.catalog",
        "zenprovision.homes.s3", "s3fs",  # a home in a bucket (~0.25 s)
        "rich.console", "pickle", "difflib",
    ],
    # a Pulumi program's process: the SDK (~0.2 s of an engine worker's ~0.25 s) and the modules
    # of the engine and of the recorder under mocks (not the module run: `python -m` runs it as
    # __main__, a module of its own)
    "pulumi": [
        "pulumi", "pulumi.dynamic", "pulumi.runtime", "zenprovision.errors", "zenprovision.extras",
        "zenprovision.engines.embedded.lazy_sdk", "zenprovision.engines.embedded.monitor",
        "zenprovision.engines.embedded.ops", "zenprovision.engines.embedded.state",
        "zenprovision.engines.embedded.values", "zenprovision.engines.embedded.policy_check",
        "zenprovision.testing.recorder",
    ],
}
# The modules each kind of server runs (`python -m MODULE`).
MODULES = {
    "cli": ("zenprovision",),
    "pulumi": ("zenprovision.engines.embedded.runner", "zenprovision.testing.program"),
}
# Read by the interpreter itself at start-up, not by a module: never taken from this process.
# TZ: the C library reads it once, when `time` is imported, not through os.environ.
INTERPRETER_VARIABLES = ("PYTHON", "LC_", "LANG", "TZ")


# Modules that read the environment by going through all of it, and the names they use:
# fsspec takes its settings from every FSSPEC_* variable while importing (fsspec/config.py).
PREFIX_READERS = {"fsspec.config": "FSSPEC"}


class _Reads:
    """The environment variables read while importing (os.environ and os.getenv go through
    ``_Environ.__getitem__``; ``in`` through ``__contains__``). A module of ``PREFIX_READERS``
    notes its prefix; any other that iterates the environment notes every name."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.prefixes: set[str] = set()
        self.everything = False

    def _note(self, name: str | None) -> None:
        frame = sys._getframe(2)
        while frame is not None and frame.f_globals.get("__name__") in ("os", "_collections_abc", "collections.abc"):
            frame = frame.f_back
        reader = frame.f_globals.get("__name__") if frame is not None else None
        if reader in PREFIX_READERS:
            self.prefixes.add(PREFIX_READERS[reader])
        elif name is None:
            self.everything = True
        else:
            self.names.add(name)

    def __enter__(self):
        cls = os._Environ
        self.saved = cls.__getitem__, cls.__contains__, cls.__iter__
        getitem, contains, iterate = self.saved

        def noted_getitem(environ, key):
            self._note(key)
            return getitem(environ, key)

        def noted_contains(environ, key):
            self._note(key)
            return contains(environ, key)

        def noted_iter(environ):
            self._note(None)
            return iterate(environ)

        cls.__getitem__, cls.__contains__, cls.__iter__ = noted_getitem, noted_contains, noted_iter
        return self

    def __exit__(self, *exc) -> None:
        os._Environ.__getitem__, os._Environ.__contains__, os._Environ.__iter__ = self.saved


def _same_start(env: dict[str, str], reads: _Reads, started_with: dict[str, str]) -> bool:
    """Whether a fresh interpreter given ``env`` would have imported the modules as this one did."""
    if reads.everything:
        return env == started_with
    prefixes = (*INTERPRETER_VARIABLES, *reads.prefixes)
    for name in set(env) | set(started_with):
        if (name in reads.names or name.startswith(prefixes)) and env.get(name) != started_with.get(name):
            return False
    return True


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 16)
    while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
        more = conn.recv(1 << 16)
        if not more:
            raise EOFError("the request was cut short")
        data += more
    return json.loads(data[4:]), fds


def serve(path: str, kind: str) -> tuple[dict, list[int]]:
    """Answer requests until stdin closes; returns only in a forked child, with its request."""
    sys.path[0] = os.getcwd()  # as `python -m` sets it
    started_with = dict(os.environ)
    printed = io.StringIO()
    with _Reads() as reads, warnings.catch_warnings(record=True) as warned, \
            contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        for name in PREIMPORTS[kind]:
            importlib.import_module(name)
    if warned or printed.getvalue():  # a fresh process shows it at every start; a forked child never would
        shown = [str(w.message) for w in warned] + [printed.getvalue()]
        print(f"not ready: importing printed or warned: {' | '.join(filter(None, shown))[:300]}", flush=True)
        sys.exit(1)
    ours = importlib.import_module("zenprovision").__file__
    gc.freeze()  # what the imports built is never collected: the children's collections skip it (no copy-on-write)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    print("ready", flush=True)
    waiting: dict[int, socket.socket] = {}
    while True:
        readable, _, _ = select.select([listener, wake_r, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1):
            os._exit(0)  # the test process is done (or gone)
        if wake_r in readable:
            os.read(wake_r, 512)
            _report_exits(waiting)
        if listener in readable:
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (OSError, EOFError, ValueError):  # a caller gone mid-request: the next one is served
                conn.close()
                continue
            if request["module"] not in MODULES[kind]:
                for fd in fds:
                    os.close(fd)
                conn.close()  # the caller reads no pid and fails; the server serves on
                continue
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for sock in (listener, *waiting.values()):
                    sock.close()
                os.close(wake_r)
                os.close(wake_w)
                if request.get("detach"):
                    _detach(conn)
                conn.close()
                _become(request, fds, _same_start(request["env"], reads, started_with), ours)
                return request, fds
            for fd in fds:
                os.close(fd)
            if request.get("detach"):  # the caller, a subreaper, is its parent once the go-between is gone
                os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # the caller is gone
                    conn.sendall(b"detached\n")
                conn.close()
                continue
            conn.sendall(f"{pid}\n".encode())
            waiting[pid] = conn
            _report_exits(waiting)  # a SIGCHLD of a fast child may have come before it was noted


def _detach(conn: socket.socket) -> None:
    """Fork again and let the go-between exit: the caller (a subreaper) becomes the parent."""
    pid = os.fork()
    if pid:
        conn.sendall(f"{pid}\n".encode())
        os._exit(0)


def _report_exits(waiting: dict[int, socket.socket]) -> None:
    for pid in list(waiting):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            conn = waiting.pop(pid)
            try:
                conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass  # the caller gave up (a timeout)
            conn.close()


def _become(request: dict, fds: list[int], same_start: bool, ours: str) -> None:
    """Turn this forked child into the caller's process (or exec a fresh one): descriptors
    ``fds`` at the numbers ``request["targets"]`` (stdin, stdout, stderr, then pass_fds)."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 256) for fd in fds]  # out of the way of every target
    for fd in fds:
        os.close(fd)
    for target, fd in zip(request["targets"], high, strict=True):
        os.dup2(fd, target)
    for fd in high:
        os.close(fd)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    safe_path = request.get("safe_path", False)  # python -P: the current folder is not on the import path
    argv = [sys.executable, *(["-P"] if safe_path else []), "-m", request["module"], *request["args"]]
    if safe_path:
        del sys.path[0]  # the folder serve() put first
    else:
        sys.path[0] = os.getcwd()
    spec = importlib.machinery.PathFinder.find_spec("zenprovision", sys.path)
    if not same_start or spec is None or spec.origin != ours:
        os.execv(sys.executable, argv)  # a fresh interpreter: exactly what the caller asked for
    import tempfile

    tempfile.tempdir = None  # asked again of $TMPDIR, as a fresh process would
    sys.argv = ["-m", *request["args"]]


if __name__ == "__main__":
    request, _ = serve(f"\0{sys.argv[1]}", sys.argv[2])
    import runpy
    import types

    sys.modules["__main__"] = types.ModuleType("__main__")  # this file's names are not the command's
    runpy._run_module_as_main(request["module"])
