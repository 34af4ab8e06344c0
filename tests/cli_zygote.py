"""``run_cli``'s processes, forked from a warm one: a fresh ``python -m zenprovision`` costs the
suite ~0.15 s of CPU a call in imports (pydantic, the stack models, click), ~100 calls a run.

One server process per pytest process (``cli_zygote_server.py``) imports the CLI once and
forks a child per call; the child takes the caller's stdin, stdout and stderr (passed over a
Unix socket), environment, working folder and umask, runs ``python -m zenprovision ARGS`` as
the interpreter would, and its exit code comes back as a ``subprocess.run`` returncode (a
negative signal number when killed). It is a real, separate process: its engine workers,
servers and files are the command's own. Where the environment differs from the server's in
a variable read while importing (or in one the interpreter reads, PYTHON*), the child execs
a fresh interpreter instead. ``ZP_TEST_FRESH_CLI=1`` starts every command fresh.
"""

from __future__ import annotations

import json
import locale
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

SERVER = Path(__file__).parent / "cli_zygote_server.py"
# run as a file, not imported: its interpreter's path and __main__ are set as `python -m` sets them
BOOTSTRAP = f"exec(compile(open({str(SERVER)!r}).read(), {str(SERVER)!r}, 'exec'))"


class Zygote:
    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.path = str(folder / "cli-zygote.sock")
        self.owner = os.getpid()
        self.proc = subprocess.Popen([sys.executable, "-c", BOOTSTRAP, self.path], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"the CLI fork server did not start (exit code {self.proc.returncode})")

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
        request = json.dumps({"args": args, "env": env, "cwd": os.getcwd(), "umask": umask}).encode()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
            message = struct.pack("!I", len(request)) + request
            sent = socket.send_fds(conn, [message], [in_r, out_w, err_w])
            conn.sendall(message[sent:])
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
            if in_w is not None:
                selector.register(in_w, selectors.EVENT_WRITE) if pending else os.close(in_w)
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


def _text(data: bytes, encoding: str) -> str:
    """As subprocess decodes with text=True: universal newlines."""
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


_zygote: Zygote | None = None
_settings: tuple[Path, dict[str, str]] | None = None


def configure(folder: Path, env: dict[str, str]) -> None:
    """Where the server's socket goes and the environment it starts with (started on first use)."""
    global _settings
    _settings = folder, env


def run(args: list[str], env: dict[str, str], input: str | None, timeout: float) -> tuple[int, str, str]:
    global _zygote
    forked = _zygote is not None and os.getpid() != _zygote.owner  # a test's own fork: not its server
    if _settings is None or forked or os.environ.get("ZP_TEST_FRESH_CLI"):
        proc = subprocess.run([sys.executable, "-m", "zenprovision", *args], capture_output=True, text=True,
                              input=input, timeout=timeout, env=env)
        return proc.returncode, proc.stdout, proc.stderr
    if _zygote is None or not _zygote.usable():
        _zygote = Zygote(*_settings)
    return _zygote.run(args, env, input, timeout)


def stop() -> None:
    global _zygote, _settings
    if _zygote is not None and _zygote.usable():
        _zygote.stop()
    _zygote, _settings = None, None
