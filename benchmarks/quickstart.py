"""The quickstart as a user runs it, beside its steps' own code as plain Python (issue 15, item 1).

Deploys the local stack once, then per round, interleaved:
  provision run examples/quickstart.py     target <= 5 s (quiet machine) and <= 2x the floor
  the same with --in-process               (every step in the run's own process, no worker)
  floor: the same steps' functions called in order in one fresh Python process, the model
         deployed to the same MLServer through the same client (no runtime, no artifacts)
and prints where a run's time went: each step's duration as the metadata store recorded it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVISION = [sys.executable, "-c", "from zenprovision.cli import main; main()"]
PLAIN = """
import sys, runpy
from zenprovision.runtime import flavors
from zenprovision.stacks import store
quick = runpy.run_path(sys.argv[1])
server = store.load(sys.argv[2]).components.model_server
client = flavors.build("model_server", server.flavor, server.config)
data = quick["load"].func()
splits = quick["split"].func(data)
model = quick["train"].func(splits)
quick["evaluate"].func.__globals__["log_metadata"] = lambda **_: None
quick["evaluate"].func(model, splits)
deployment = client.deploy(model, "iris-plain")
quick["query"].func(deployment, splits)
"""


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def step_seconds(env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([*PROVISION, "runs", "--json"], env=env, check=True, capture_output=True, text=True).stdout
    newest = json.loads(out)[0]["id"]
    run = json.loads(subprocess.run([*PROVISION, "runs", "show", newest, "--json"], env=env, check=True,
                                    capture_output=True, text=True).stdout)
    return {step["node_id"]: (step["ended"] or 0) - (step["started"] or 0) for step in run["steps"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "ZENPROVISION_HOME": tempfile.mkdtemp(prefix="zenprovision-quickstart-")}
    quickstart = str(ROOT / "examples" / "quickstart.py")
    subprocess.run([*PROVISION, "recipe", "local", "--stack", "qs", "--yes"], env=env, check=True, capture_output=True)
    runs, inline, plain, steps = [], [], [], []
    try:
        for _ in range(args.rounds):
            runs.append(timed([*PROVISION, "run", quickstart, "--stack", "qs", "--no-cache"], env))
            steps.append(step_seconds(env))
            inline.append(timed([*PROVISION, "run", quickstart, "--stack", "qs", "--no-cache", "--in-process"], env))
            plain.append(timed([sys.executable, "-c", PLAIN, quickstart, "qs"], env))
    finally:
        subprocess.run([*PROVISION, "destroy", "qs", "--yes"], env=env, capture_output=True)
    run, floor = statistics.median(runs), statistics.median(plain)
    print(f"{'figure':52} {'median':>8} {'target':>8}  verdict")
    print(f"{'floor: the steps as plain Python, one process':52} {floor:7.2f}s")
    print(f"{'provision run examples/quickstart.py':52} {run:7.2f}s {5.0:7.2f}s  {'ok' if run <= 5 else 'SLOW'}")
    print(f"{'  ... as a multiple of the floor':52} {run / floor:7.2f}x {2.0:7.2f}x  {'ok' if run <= 2 * floor else 'SLOW'}")
    in_process = statistics.median(inline)
    print(f"{'provision run examples/quickstart.py --in-process':52} {in_process:7.2f}s {5.0:7.2f}s  "
          f"{'ok' if in_process <= 5 else 'SLOW'}")
    print(f"{'  ... as a multiple of the floor':52} {in_process / floor:7.2f}x {2.0:7.2f}x  "
          f"{'ok' if in_process <= 2 * floor else 'SLOW'}")
    for node in steps[0]:
        print(f"{'  step ' + node:52} {statistics.median(s.get(node, 0) for s in steps):7.2f}s")
    print(f"(medians of {args.rounds} interleaved rounds; cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
