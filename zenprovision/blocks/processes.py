"""Supervised local server processes: started detached, tracked by a pid file, stopped whole.

A server is only ever stopped through its pid record (its PID and start time), never by
matching command lines: another home's server may look just like ours. The record is
written before the server runs: the child waits at a gate until the parent has written it,
and exits without starting if the parent dies first. So every server that runs is recorded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from zenprovision.atomic import atomic_write_text
from zenprovision.errors import CorruptFileError
from zenprovision.home import private_dir
from zenprovision.runtime.owner import same_start, start_offset

# Runs in the child before the server: wait for the parent's go, else exit; then become the server.
_GATE = (
    "import os, sys\n"
    "os.umask(0o077)\n"
    "if os.read(0, 1) != b'1':\n"
    "    sys.exit(0)\n"
    "os.dup2(os.open(os.devnull, os.O_RDONLY), 0)\n"
    "os.execvp(sys.argv[1], sys.argv[1:])\n"
)
# What a local server may see of the caller's environment: nothing secret, nothing that rebinds it.
ENV_ALLOWED = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SYSTEMROOT", "PYTHONPATH")
_START_SLACK = 0.02  # create_time is read in clock ticks; allow for rounding


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment cut down to ``ENV_ALLOWED`` and the locale (``LC_*``)."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k in ENV_ALLOWED or k.startswith("LC_")}


@dataclass(frozen=True)
class PidRecord:
    pid: int
    started: float  # psutil create_time of the process
    boot: float | None = None  # psutil.boot_time() when it was recorded; None in an earlier version's file

    def matches(self, process: psutil.Process) -> bool:
        return same_start(process, self.started, self.boot, _START_SLACK)

    def started_after(self, process: psutil.Process) -> bool:
        """``process`` started no earlier than the recorded one (compared as ``matches`` compares)."""
        return start_offset(process, self.started, self.boot) + _START_SLACK >= 0


@dataclass(frozen=True)
class PidFile:
    path: Path

    def write(self, pid: int) -> None:
        started = psutil.Process(pid).create_time()
        record = {"pid": pid, "started": started, "boot": psutil.boot_time()}
        atomic_write_text(self.path, json.dumps(record), mode=0o600)

    def read(self) -> PidRecord | None:
        """The record, or None when there is no file (no server was started, or it was stopped).

        A file that is there but cannot be read is an error, not "no server": the server it
        recorded may still run, and starting another or forgetting it would orphan it.
        """
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._damaged(f"cannot be read ({exc.strerror or exc})") from exc
        try:
            record = json.loads(text)
            pid, started, boot = int(record["pid"]), float(record["started"]), record.get("boot")
            return PidRecord(pid, started, None if boot is None else float(boot))
        except (ValueError, KeyError, TypeError) as exc:
            raise self._damaged("is damaged") from exc

    def _damaged(self, what: str) -> CorruptFileError:
        pids = _running_in(self.path.parent)
        suspects = f"PID {', '.join(map(str, pids))} runs in its folder" if pids else "no process runs in its folder now"
        return CorruptFileError(
            f"server pid file {self.path} {what}",
            hint=f"the server it recorded may still run ({suspects}): check and stop it, "
                 "then remove the file and run the command again")

    def running_pid(self) -> int | None:
        """The recorded PID if that very process is still alive, else None."""
        record = self.read()
        if record is None:
            return None
        try:
            process = psutil.Process(record.pid)
            if not record.matches(process) or process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process.pid
        except psutil.Error:
            return None


def _running_in(folder: Path) -> list[int]:
    """Processes whose working folder is ``folder``: where ``spawn`` starts every server."""
    found = []
    for process in psutil.process_iter(["cwd"]):
        try:
            if process.info["cwd"] and Path(process.info["cwd"]) == folder and process.pid != os.getpid():
                found.append(process.pid)
        except (OSError, psutil.Error):
            continue
    return sorted(found)


def spawn(command: list[str], log_path: Path, pid_file: PidFile, cwd: Path,
          inherit: tuple[str, ...] = ()) -> subprocess.Popen:
    """Start a server in its own session (Ctrl-C in the terminal does not reach it).

    It gets ``server_env()`` plus the variables named in ``inherit``, and runs only once
    its pid record is on disk.
    """
    private_dir(log_path.parent)
    for attempt in range(3):
        proc = _start_gated(command, log_path, cwd, inherit)
        try:
            pid_file.write(proc.pid)
            proc.stdin.write(b"1")
            proc.stdin.close()
            return proc
        except BrokenPipeError:
            # The gate died before it was let through: a Ctrl-C sent to our process group in the
            # instant before the child had its own session. That signal was the command's, not the
            # server's: the create in flight finishes, so start the server again.
            if proc.wait() >= 0 or attempt == 2:
                raise
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    raise AssertionError("unreachable")


def _start_gated(command: list[str], log_path: Path, cwd: Path, inherit: tuple[str, ...]) -> subprocess.Popen:
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _GATE, *command],
            cwd=cwd,
            env={**server_env(), **{name: os.environ[name] for name in inherit if name in os.environ}},
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(pid_file: PidFile, timeout: float = 10.0) -> None:
    """Terminate the recorded process's group, then kill what is left; idempotent."""
    record = pid_file.read()
    if record is not None:
        _signal_group(record, "terminate", timeout)
        _signal_group(record, "kill", 5.0)  # looked up again: also what was started meanwhile
    pid_file.path.unlink(missing_ok=True)


def _signal_group(record: PidRecord, action: str, timeout: float) -> None:
    members = _group_members(record)
    for process in members:
        try:
            getattr(process, action)()  # psutil checks the start time again: no PID reuse
        except psutil.Error:
            pass
    _wait_exited(members, timeout)


def _wait_exited(members: list[psutil.Process], timeout: float) -> None:
    """Until each has exited; a zombie has (its reaper may be slow: init reaps detached servers)."""
    deadline = time.monotonic() + timeout
    while members and time.monotonic() < deadline:
        members = [process for process in members if _running(process)]
        if members:
            time.sleep(0.02)


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_members(record: PidRecord) -> list[psutil.Process]:
    """Our server and the children in its process group, never a process that reused its PID.

    While the leader lives and matches, its group is ours. When it has died, members still
    in its group were started after it (a PID in use as a group id is not handed out again).
    """
    try:
        if not record.matches(psutil.Process(record.pid)):
            return []  # the PID now belongs to another process: its group is not ours
    except psutil.NoSuchProcess:
        pass
    except psutil.Error:
        return []
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) != record.pid or process.pid == os.getpid():
                continue
            if record.started_after(process) and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (OSError, psutil.Error):
            continue
    return members


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


class ServerFailed(RuntimeError):
    """A server that exited or never became ready: one line, naming its log."""

    def __init__(self, what: str, reason: str, log_path: Path) -> None:
        super().__init__(f"{what} {reason}; its log: {log_path}")
        self.what, self.reason, self.log_path = what, reason, log_path

    def with_log(self, log_path: Path) -> ServerFailed:
        return ServerFailed(self.what, self.reason, log_path)


PORT_ATTEMPTS = 3  # starts of a server whose port, free when chosen, was taken before it bound it


def lost_a_port_we_chose(log_path: Path, wanted: int = 0) -> bool:
    """The server's log says it exited because a port was taken, and not the port the user chose
    (``wanted``; 0: every port was ours). Ports are only free when ``free_port`` looks."""
    try:
        log = log_path.read_text(errors="replace")
    except OSError:
        return False
    lines = [line for line in log.splitlines() if re.search(r"already in use|failed to bind", line, re.IGNORECASE)]
    taken = {int(port) for line in lines for port in re.findall(r"(?:, |:)(\d{2,5})\b", line)}
    return bool(lines) and wanted not in taken


def wait_until_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout: float, what: str = "server") -> None:
    """Poll ``url`` until it answers 2xx; fail early if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(url, timeout=0.5):
            return
        if proc.poll() is not None:
            raise ServerFailed(what, f"exited with code {proc.returncode} before it was ready", log_path)
        time.sleep(0.05)
    raise ServerFailed(what, f"was not ready at {url} after {timeout:.0f}s", log_path)


def undo_create(root: Path, log_dir: str | None, error: BaseException) -> BaseException:
    """Remove what a failed create made under ``root``, keeping its logs in ``log_dir``.

    Nothing of a failed create stays in the stack's folder, so destroy can always remove
    it; the error returned names the log where it now is. A damaged pid file is kept, with
    everything beside it: the error tells the user to check its server before removing it.
    """
    if isinstance(error, CorruptFileError):
        return error
    kept: dict[Path, Path] = {}
    if log_dir:
        target = Path(log_dir)
        for log in sorted(root.glob("*.log")):
            private_dir(target)
            kept[log] = target / log.name
            shutil.move(log, kept[log])
    shutil.rmtree(root, ignore_errors=True)
    if isinstance(error, ServerFailed) and error.log_path in kept:
        return error.with_log(kept[error.log_path])
    return error


def tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"
