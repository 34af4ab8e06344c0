"""Start-up of the listing commands, whatever the number of stacks and runs (issue 15, item 3).

Prints the median of each figure beside its target (150 ms) and two floors measured in the
same run, with every command interleaved round by round (the machine may be loaded):
  python -c pass            the interpreter alone
  python -c 'import click'  the least a click CLI pays
  provision --help, provision stacks (0 and N stacks), provision runs (0 and N runs)

--baseline DIR adds the same commands run from another checkout's package (e.g. one made
with `git archive main | tar -x -C DIR`), so a change is measured against what it replaced.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

TARGET = 0.150
PROVISION = ["-c", "from zenprovision.cli import main; main()"]


def populate(home: Path, stacks: int, runs: int) -> None:
    """`stacks` records as deploys write them and `runs` finished runs on one stack's metadata store."""
    os.environ["ZENPROVISION_HOME"] = str(home)
    from zenprovision.runtime.metadata import MetadataStore
    from zenprovision.stacks import registry

    for index in range(stacks):
        record = registry.StackRecord(name=f"stack-{index:03d}", recipe="local", engine="embedded", ttl="8h",
                                      created_at=datetime.now(timezone.utc))
        registry.finish(registry.begin(record, "up", "deploying"), "active")
    meta = MetadataStore("stack-000")
    for index in range(runs):
        meta.start_run(f"run-{index:04d}", "chain", "chain.py", "stack-000", {"n": index}, None)
        meta.end_run(f"run-{index:04d}", "succeeded")
    meta.close()


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds: on a loaded machine the CPU figure is the steadier one."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # run from the home's parent: `python -c` puts the working folder first on sys.path
    subprocess.run([sys.executable, *argv], env=env, check=True, capture_output=True,
                   cwd=Path(env["ZENPROVISION_HOME"]).parent)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def cases(homes: dict[str, Path], baseline: Path | None) -> dict[str, tuple[list[str], dict[str, str]]]:
    empty, full = ({**os.environ, "ZENPROVISION_HOME": str(homes[key])} for key in ("empty", "full"))
    found = {
        "floor: python -c pass": (["-c", "pass"], empty),
        "floor: python -c 'import click'": (["-c", "import click"], empty),
        "provision --help": ([*PROVISION, "--help"], empty),
        "provision stacks (0 stacks)": ([*PROVISION, "stacks"], empty),
        f"provision stacks ({homes['stacks']} stacks)": ([*PROVISION, "stacks"], full),
        "provision runs (0 runs)": ([*PROVISION, "runs"], empty),
        f"provision runs ({homes['runs']} runs)": ([*PROVISION, "runs"], full),
    }
    if baseline:
        for name, (argv, env) in list(found.items()):
            if name.startswith("provision"):
                found[f"  before: {name}"] = (argv, {**env, "PYTHONPATH": str(baseline)})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--stacks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--baseline", type=Path, help="a checkout whose zenprovision package to compare")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="zenprovision-startup-"))
    (root / "empty").mkdir()
    populate(root / "full", args.stacks, args.runs)
    homes = {"empty": root / "empty", "full": root / "full", "stacks": args.stacks, "runs": args.runs}
    table = cases(homes, args.baseline)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in table}
    for _ in range(args.rounds):
        for name, (argv, env) in table.items():
            times[name].append(timed(argv, env))
    floor = statistics.median(wall for wall, _ in times["floor: python -c 'import click'"])
    print(f"{'command':46} {'median':>8} {'cpu':>8} {'target':>8} {'- floor':>8}  verdict")
    for name, runs in times.items():
        median, cpu = (statistics.median(column) for column in zip(*runs, strict=True))
        verdict = "" if name.startswith(("floor", " ")) else ("ok" if median <= TARGET else "SLOW")
        print(f"{name:46} {median * 1000:6.0f}ms {cpu * 1000:6.0f}ms {TARGET * 1000:6.0f}ms "
              f"{(median - floor) * 1000:6.0f}ms  {verdict}")
    print(f"(medians of {args.rounds} interleaved rounds; cores: {os.cpu_count()}, "
          f"load: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
