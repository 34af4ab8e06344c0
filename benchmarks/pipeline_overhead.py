"""Per-step overhead of the runtime on the local stack, next to a plain-Python baseline.

Every output persisted to the artifact store, metadata recorded, caching off. Prints
whole-run wall time for a 10-step and a 40-step chain and a 16-way fan-out, per-step
overhead (T40 - T10) / 30 (target <= 5 ms, and within 1.3x of the floor), the same for
the floor, a plain loop that pickles each output to a file with one fsync per step (and for
reference one with two, as the runtime did before issue 15), a third floor writing each output as
two new files in a new run folder as the runtime's layout does, a second floor for a runtime
that runs each step in a worker process: the same loop with each step's write handed to a
2-process pool (ProcessPoolExecutor, fork) and its result awaited, for reference the runtime's
own save and load of each output in this process (its on-disk layout: two new files per step
in the run's folder, ``<step><ext>`` then ``.<step>.meta.json``, one fsync, no new folder), the
same chains run with ``--in-process`` (every step in the run's own process, no worker), and
`provision run` of the 10-step chain as a whole process (target <= 1 s). Every variant runs
once per round, interleaved, and each figure is the median of the rounds: the machine may be
loaded (``--rounds N``, default 5: more rounds, steadier medians).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROVISION = str(Path(sys.executable).with_name("provision"))


def baseline(steps: int, folder: Path, syncs: int = 1) -> float:
    started = time.perf_counter()
    value = 0
    for index in range(steps):
        value = value + 1 if index else 0
        for number in range(syncs):
            path = folder / f"out-{index}-{number}.pkl"
            with open(path, "wb") as handle:
                pickle.dump(value, handle)
                handle.flush()
                os.fsync(handle.fileno())
        with open(path, "rb") as handle:
            value = pickle.load(handle)
    return time.perf_counter() - started


def two_new_files(steps: int, folder: Path) -> float:
    """The plain loop, writing each step's output as two new files in a new run folder (data, fsynced, then a
    meta file), as the runtime's layout does: what the filesystem charges for that layout at least."""
    run = folder / f"run-{time.time_ns()}"
    started = time.perf_counter()
    run.mkdir()
    value = 0
    for index in range(steps):
        value = value + 1 if index else 0
        path = run / f"step_{index}.pkl"
        with open(path, "xb") as handle:
            pickle.dump(value, handle)
            handle.flush()
            os.fsync(handle.fileno())
        with open(run / f".step_{index}.meta.json", "xb") as handle:
            handle.write(b'{"file": "step.pkl"}')
        with open(path, "rb") as handle:
            value = pickle.load(handle)
    return time.perf_counter() - started


def _write_step(path: str, value: int) -> int:
    with open(path, "wb") as handle:
        pickle.dump(value, handle)
        handle.flush()
        os.fsync(handle.fileno())
    with open(path, "rb") as handle:
        return pickle.load(handle) + 1


def pooled(steps: int, folder: Path, pool: ProcessPoolExecutor) -> float:
    """The plain loop, each step's write done in a worker process: what isolating a step costs at least."""
    started = time.perf_counter()
    value = 0
    for index in range(steps):
        value = pool.submit(_write_step, str(folder / f"pooled-{index}.pkl"), value).result()
    return time.perf_counter() - started


def stored(steps: int, folder: Path) -> float:
    """The plain loop through the runtime's artifact code: its layout's cost, without workers or metadata."""
    from zenprovision.runtime.artifact_stores.local import LocalArtifactStore
    from zenprovision.runtime.execution import load_artifact, save_artifact

    store = LocalArtifactStore({"path": str(folder / f"stored-{time.time_ns()}")})
    started = time.perf_counter()
    value = 0
    for index in range(steps):
        value = value + 1 if index else 0
        relpath = save_artifact(store, f"runs/r/step_{index}", value, "bench")["relpath"]
        value = load_artifact(store, relpath)
    return time.perf_counter() - started


def one_run(pipeline, stack: str, in_process: bool = False) -> float:
    started = time.perf_counter()
    pipeline.run(stack=stack, cache=False, in_process=in_process)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every variant; more rounds, steadier medians")
    rounds_wanted = parser.parse_args().rounds
    home = tempfile.mkdtemp(prefix="zenprovision-bench-")
    os.environ["ZENPROVISION_HOME"] = home
    subprocess.run([PROVISION, "recipe", "local", "--stack", "bench", "--yes"], check=True, capture_output=True)
    try:
        sys.path.insert(0, str(HERE))
        import chains

        one_run(chains.chain10, "bench")  # warm-up: imports, first fork
        one_run(chains.chain10, "bench", in_process=True)
        folder = Path(tempfile.mkdtemp(prefix="zenprovision-baseline-"))
        rounds: dict[str, list[float]] = {key: [] for key in ("t10", "t40", "t16", "b10", "b40", "d10", "d40",
                                                              "p10", "p40", "s10", "s40", "i10", "i40", "n10", "n40")}
        pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
        pooled(10, folder, pool)  # warm-up: the workers start
        for _ in range(rounds_wanted):
            for key, measure in (("t10", lambda: one_run(chains.chain10, "bench")),
                                 ("b10", lambda: baseline(10, folder)), ("d10", lambda: baseline(10, folder, 2)),
                                 ("t40", lambda: one_run(chains.chain40, "bench")),
                                 ("b40", lambda: baseline(40, folder)), ("d40", lambda: baseline(40, folder, 2)),
                                 ("p10", lambda: pooled(10, folder, pool)), ("p40", lambda: pooled(40, folder, pool)),
                                 ("s10", lambda: stored(10, folder)), ("s40", lambda: stored(40, folder)),
                                 ("t16", lambda: one_run(chains.fanout16, "bench")),
                                 ("i10", lambda: one_run(chains.chain10, "bench", in_process=True)),
                                 ("i40", lambda: one_run(chains.chain40, "bench", in_process=True)),
                                 ("n10", lambda: two_new_files(10, folder)), ("n40", lambda: two_new_files(40, folder))):
                rounds[key].append(measure())
        pool.shutdown()
        t10, t40, t16, b10, b40, d10, d40, p10, p40, s10, s40, i10, i40, n10, n40 = (
            statistics.median(rounds[key]) for key in rounds)
        started = time.perf_counter()
        subprocess.run([PROVISION, "run", f"{HERE / 'chains.py'}:chain10", "--stack", "bench", "--no-cache"],
                       check=True, capture_output=True)
        whole = time.perf_counter() - started
    finally:
        subprocess.run([PROVISION, "destroy", "bench", "--yes"], check=True, capture_output=True)
    per_step = (t40 - t10) / 30
    base_step = (b40 - b10) / 30
    two_step = (d40 - d10) / 30
    pool_step = (p40 - p10) / 30
    store_step = (s40 - s10) / 30
    inline_step = (i40 - i10) / 30
    layout_step = (n40 - n10) / 30
    print(f"{'measure':44} {'zenprovision':>13} {'baseline':>10} {'target':>8}")
    print(f"{'10-step chain, wall':44} {t10 * 1000:11.1f}ms {b10 * 1000:8.1f}ms")
    print(f"{'40-step chain, wall':44} {t40 * 1000:11.1f}ms {b40 * 1000:8.1f}ms")
    print(f"{'16-way fan-out (18 steps), wall':44} {t16 * 1000:11.1f}ms")
    print(f"{'per-step overhead (T40 - T10) / 30':44} {per_step * 1000:11.2f}ms {base_step * 1000:8.2f}ms {'5ms':>8}")
    ratio = per_step / base_step if base_step > 0 else float("inf")
    print(f"{'per-step overhead / one-fsync floor':44} {ratio:12.2f}x {'':>10} {'1.3x':>8}  "
          f"{'ok' if ratio <= 1.3 else 'SLOW'}")
    print(f"{'(reference: two fsyncs per step, plain loop)':44} {'':>13} {two_step * 1000:8.2f}ms")
    print(f"{'floor 2: one fsync per step, in a worker process':44} {'':>13} {pool_step * 1000:8.2f}ms")
    print(f"{'per-step overhead / worker-process floor':44} {per_step / pool_step:12.2f}x")
    print(f"{'floor 3: two new files per step, one fsync':44} {'':>13} {layout_step * 1000:8.2f}ms")
    print(f"{'(reference: runtime save + load, in-process)':44} {'':>13} {store_step * 1000:8.2f}ms")
    print(f"{'(reference: runtime save + load / floor)':44} {store_step / base_step:12.2f}x  "
          "the layout alone, before any bookkeeping")
    print(f"{'40-step chain, --in-process, wall':44} {i40 * 1000:11.1f}ms")
    print(f"{'per-step overhead, --in-process':44} {inline_step * 1000:11.2f}ms {base_step * 1000:8.2f}ms {'5ms':>8}")
    inline_ratio = inline_step / base_step if base_step > 0 else float("inf")
    print(f"{'per-step overhead, --in-process / floor':44} {inline_ratio:12.2f}x {'':>10} {'1.3x':>8}  "
          f"{'ok' if inline_ratio <= 1.3 else 'SLOW'}")
    print(f"{'per-step overhead, --in-process / floor 3':44} {inline_step / layout_step:12.2f}x")
    print(f"{'provision run chain10 (whole process)':44} {whole * 1000:11.0f}ms {'':>10} {'1000ms':>8}")
    print(f"(local stack, workers=2, cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}, caching off, "
          "artifacts and metadata persisted)")


if __name__ == "__main__":
    main()
