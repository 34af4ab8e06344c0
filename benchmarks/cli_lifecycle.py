"""Start-up, deploy and destroy times of the `provision` CLI on the local stack.

Prints each figure next to its target, in one run:
  provision --help                      <= 200 ms
  provision recipe local --yes (ready)  <= 5 s   (the model server answers /v2/health/ready)
  provision destroy --yes               <= 2 s
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROVISION = [str(Path(sys.executable).with_name("provision"))]


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(PROVISION + args, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    home = tempfile.mkdtemp(prefix="zenprovision-bench-")
    env = {**os.environ, "ZENPROVISION_HOME": home}
    help_runs = [timed(["--help"], env) for _ in range(10)]
    stacks_runs = [timed(["stacks"], env) for _ in range(5)]
    deploys, destroys = [], []
    for round_ in range(3):
        deploys.append(timed(["recipe", "local", "--stack", f"bench{round_}", "--yes"], env))
        destroys.append(timed(["destroy", f"bench{round_}", "--yes"], env))
    rows = [
        ("provision --help", statistics.median(help_runs), 0.200),
        ("provision stacks", statistics.median(stacks_runs), 0.200),
        ("provision recipe local --yes", statistics.median(deploys), 5.0),
        ("provision destroy --yes", statistics.median(destroys), 2.0),
    ]
    print(f"{'command':34} {'median':>9} {'target':>9}  verdict")
    for name, seconds, target in rows:
        verdict = "ok" if seconds <= target else "SLOW"
        print(f"{name:34} {seconds * 1000:7.0f}ms {target * 1000:7.0f}ms  {verdict}")
    print(f"(runs: help {len(help_runs)}, deploy/destroy {len(deploys)}; cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
