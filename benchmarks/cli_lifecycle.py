"""Start-up, deploy and destroy times of the `provision` CLI on the local stack (issue 15, item 4).

Prints the median of each figure next to its target and a floor measured in the same run,
every variant once per round, interleaved (the machine may be loaded):
  provision --help, provision stacks       <= 150 ms   floor: python -c 'import click'
  provision recipe local --yes (ready)     <= 3 s      floor: MLServer alone, from spawn to /v2/health/ready
  provision destroy --yes                  <= 1 s      floor: that MLServer's stop (SIGTERM until it exited)

--baseline DIR adds the deploy and destroy of another checkout's package (PYTHONPATH=DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CLI = [sys.executable, "-c", "from zenprovision.cli import main; main()"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, cwd=Path(env["ZENPROVISION_HOME"]).parent)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bare_mlserver(folder: Path) -> tuple[float, float]:
    """MLServer as the local recipe configures it, without zenprovision: (start to ready, stop)."""
    port = free_port()
    (folder / "models").mkdir(parents=True, exist_ok=True)
    settings = {"host": "127.0.0.1", "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
                "metrics_endpoint": None, "parallel_workers": 0, "model_repository_root": str(folder / "models"),
                "load_models_at_startup": True, "debug": False}
    (folder / "settings.json").write_text(json.dumps(settings))
    started = time.perf_counter()
    with open(folder / "mlserver.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", "from mlserver.cli.main import main; main()", "start",
                                 str(folder)], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    while True:
        if proc.poll() is not None or time.perf_counter() - started > 120:
            proc.kill()
            raise SystemExit(f"MLServer did not start; see {folder / 'mlserver.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    ready = time.perf_counter() - started
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    return ready, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="a checkout whose zenprovision package to compare")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="zenprovision-bench-"))
    env = {**os.environ, "ZENPROVISION_HOME": str(root / "home")}
    variants = {"now": env}
    if args.baseline:
        variants["before"] = {**env, "PYTHONPATH": str(args.baseline)}
    times: dict[str, list[float]] = {}
    for round_ in range(args.rounds):
        for label, figure in (("floor: python -c 'import click'", timed([sys.executable, "-c", "import click"], env)),
                              ("provision --help", timed([*CLI, "--help"], env)),
                              ("provision stacks", timed([*CLI, "stacks"], env))):
            times.setdefault(label, []).append(figure)
        ready, stop = bare_mlserver(root / f"bare{round_}")
        times.setdefault("floor: MLServer alone, start to ready", []).append(ready)
        times.setdefault("floor: MLServer alone, SIGTERM to exit", []).append(stop)
        for name, variant_env in variants.items():
            stack = f"{name}{round_}"
            times.setdefault(f"{name}: provision recipe local --yes", []).append(
                timed([*CLI, "recipe", "local", "--stack", stack, "--yes"], variant_env))
            times.setdefault(f"{name}: provision destroy --yes", []).append(
                timed([*CLI, "destroy", stack, "--yes"], variant_env))
    targets = {"provision --help": 0.150, "provision stacks": 0.150, "now: provision recipe local --yes": 3.0,
               "now: provision destroy --yes": 1.0}
    print(f"{'figure':44} {'median':>9} {'target':>9}  verdict")
    for name, runs in times.items():
        target = targets.get(name)
        verdict = ("ok" if statistics.median(runs) <= target else "SLOW") if target else ""
        shown = f"{target * 1000:7.0f}ms" if target else ""
        print(f"{name:44} {statistics.median(runs) * 1000:7.0f}ms {shown:>9}  {verdict}")
    print(f"(medians of {args.rounds} interleaved rounds; cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
