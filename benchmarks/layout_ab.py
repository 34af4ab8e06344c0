"""What the artifact layout costs a chain step: this layout against the one before it, in one process.

Issue 15: a step's output was ``runs/<run>/<step>/output/{data.<ext>,meta.json}``, two new
folders per step, whose journal entries the step's one fsync commits; it is now two files in
the run's folder. Runs made seconds apart on a shared, loaded machine differ more than the
layouts do, so this runs both in the same process, alternating run by run: the earlier layout
is the same code given the stem ``runs/<run>/<step>/output/data`` (the same two folders and
two files per step, only the meta file's name differs). Prints the per-step overhead
(T40 - T10) / 30 of each, the median of ``--rounds`` (default 15), and their ratio; then the
same for the runtime's save and load alone (no workers, no SQLite), next to the one-fsync floor.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROVISION = str(Path(sys.executable).with_name("provision"))


def earlier_stem(run_id: str, node_id: str) -> str:
    return f"runs/{run_id}/{node_id}/output/data"


def one_run(pipeline, stack: str, earlier: bool) -> float:
    from zenprovision.runtime import execution, scheduler

    scheduler.output_stem = earlier_stem if earlier else execution.output_stem
    started = time.perf_counter()
    pipeline.run(stack=stack, cache=False)
    return time.perf_counter() - started


def stored(steps: int, folder: Path, earlier: bool) -> float:
    """The runtime's save and load of each output in this process: the layout's cost alone."""
    from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
    from zenprovision.runtime.execution import load_artifact, save_artifact

    store = LocalArtifactStore({"path": str(folder / f"stored-{time.time_ns()}")})
    started = time.perf_counter()
    value = 0
    for index in range(steps):
        value = value + 1 if index else 0
        stem = earlier_stem("r", f"step_{index}") if earlier else f"runs/r/step_{index}"
        value = load_artifact(store, save_artifact(store, stem, value, "bench")["relpath"])
    return time.perf_counter() - started


def floor(steps: int, folder: Path) -> float:
    """A plain loop: one new file per step, pickled, fsynced, read back."""
    started = time.perf_counter()
    value = 0
    for index in range(steps):
        path = folder / f"floor-{time.time_ns()}-{index}.pkl"
        with open(path, "wb") as handle:
            pickle.dump(value + 1, handle)
            handle.flush()
            os.fsync(handle.fileno())
        with open(path, "rb") as handle:
            value = pickle.load(handle)
    return time.perf_counter() - started


def per_step(rounds: dict[str, list[float]], short: str, long: str) -> float:
    return (statistics.median(rounds[long]) - statistics.median(rounds[short])) / 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of every variant; more rounds, steadier medians")
    wanted = parser.parse_args().rounds
    home = tempfile.mkdtemp(prefix="zenprovision-bench-")
    os.environ["ZENPROVISION_HOME"] = home
    subprocess.run([PROVISION, "recipe", "local", "--stack", "bench", "--yes"], check=True, capture_output=True)
    try:
        sys.path.insert(0, str(HERE))
        import chains

        one_run(chains.chain10, "bench", False)  # warm-up: imports, first fork
        folder = Path(tempfile.mkdtemp(prefix="zenprovision-layout-"))
        rounds: dict[str, list[float]] = {}
        for index in range(wanted):
            order = (False, True) if index % 2 else (True, False)  # neither always goes first
            for earlier in order:
                tag = "old" if earlier else "new"
                for key, measure, argument in ((f"t10{tag}", one_run, chains.chain10), (f"t40{tag}", one_run, chains.chain40),
                                               (f"s10{tag}", stored, 10), (f"s40{tag}", stored, 40)):
                    second = "bench" if measure is one_run else folder
                    rounds.setdefault(key, []).append(measure(argument, second, earlier))
            for key, steps in (("f10", 10), ("f40", 40)):
                rounds.setdefault(key, []).append(floor(steps, folder))
    finally:
        subprocess.run([PROVISION, "destroy", "bench", "--yes"], check=True, capture_output=True)
    base = per_step(rounds, "f10", "f40")
    print(f"{'per step, (T40 - T10) / 30':40} {'earlier layout':>15} {'this layout':>12} {'ratio':>7}")
    for label, prefix in (("pipeline run (workers, SQLite)", "t"), ("save + load in one process", "s")):
        old, new = per_step(rounds, f"{prefix}10old", f"{prefix}40old"), per_step(rounds, f"{prefix}10new", f"{prefix}40new")
        print(f"{label:40} {old * 1000:13.2f}ms {new * 1000:10.2f}ms {new / old:6.2f}x")
    print(f"{'one-fsync floor (plain loop)':40} {base * 1000:13.2f}ms")
    print(f"({wanted} rounds, alternating; cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
