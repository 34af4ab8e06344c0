"""Supervised local server processes: started detached, tracked by a pid file, stopped whole.

The pid file records the process's start time too, so a recycled PID is never mistaken for
our server and killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class PidFile:
    path: Path

    def write(self, pid: int) -> None:
        started = psutil.Process(pid).create_time()
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": pid, "started": started}))
        os.replace(tmp, self.path)

    def running_pid(self) -> int | None:
        """The recorded PID if that very process is still alive, else None."""
        try:
            record = json.loads(self.path.read_text())
            process = psutil.Process(int(record["pid"]))
            if abs(process.create_time() - float(record["started"])) > 0.01:
                return None
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process.pid
        except (OSError, ValueError, KeyError, psutil.Error):
            return None


def spawn(command: list[str], log_path: Path, pid_file: PidFile, cwd: Path) -> subprocess.Popen:
    """Start a server in its own session (Ctrl-C in the terminal does not reach it)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write(proc.pid)
    return proc


def stop(pid_file: PidFile, timeout: float = 10.0) -> None:
    """Terminate the recorded process group, then kill what is left; idempotent."""
    pid = pid_file.running_pid()
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.05)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _group_alive(pid) and time.monotonic() < deadline + 5:
                time.sleep(0.05)
    pid_file.path.unlink(missing_ok=True)


def stop_matching(*markers: str, timeout: float = 10.0) -> None:
    """Stop processes whose command line holds every marker.

    Catches a server whose starter was killed between spawning it and writing its pid file.
    """
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.pid != os.getpid() and all(marker in cmdline for marker in markers):
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except psutil.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
            except psutil.Error:
                pass


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error, OSError):
            continue
    return False


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    """Poll ``url`` until it answers 2xx; fail early, with the log's tail, if the server dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(url, timeout=0.5):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}: {tail(log_path)}")
        time.sleep(0.05)
    raise TimeoutError(f"server not ready at {url} after {timeout:.0f}s: {tail(log_path)}")


def tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"
