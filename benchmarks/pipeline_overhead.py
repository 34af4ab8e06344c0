"""Per-step overhead of the runtime on the local stack, next to a plain-Python baseline.

Every output persisted to the artifact store, metadata recorded, caching off. Prints
whole-run wall time for a 10-step and a 40-step chain and a 16-way fan-out, per-step
overhead (T40 - T10) / 30 (target <= 5 ms), the same for a baseline that pickles each
output to a file with fsync, and `provision run` of the 10-step chain as a whole process
(target <= 1 s).
"""

from __future__ import annotations

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


def baseline(steps: int, folder: Path) -> float:
    started = time.perf_counter()
    value = 0
    for index in range(steps):
        value = value + 1 if index else 0
        path = folder / f"out-{index}.pkl"
        with open(path, "wb") as handle:
            pickle.dump(value, handle)
            handle.flush()
            os.fsync(handle.fileno())
        with open(path, "rb") as handle:
            value = pickle.load(handle)
    return time.perf_counter() - started


def timed_runs(pipeline, stack: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        pipeline.run(stack=stack, cache=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    home = tempfile.mkdtemp(prefix="zenprovision-bench-")
    os.environ["ZENPROVISION_HOME"] = home
    subprocess.run([PROVISION, "recipe", "local", "--stack", "bench", "--yes"], check=True, capture_output=True)
    try:
        sys.path.insert(0, str(HERE))
        import chains

        timed_runs(chains.chain10, "bench", 1)  # warm-up: imports, first fork
        t10 = timed_runs(chains.chain10, "bench", 5)
        t40 = timed_runs(chains.chain40, "bench", 5)
        t16 = timed_runs(chains.fanout16, "bench", 5)
        folder = Path(tempfile.mkdtemp(prefix="zenprovision-baseline-"))
        b10 = statistics.median(baseline(10, folder) for _ in range(5))
        b40 = statistics.median(baseline(40, folder) for _ in range(5))
        started = time.perf_counter()
        subprocess.run([PROVISION, "run", f"{HERE / 'chains.py'}:chain10", "--stack", "bench", "--no-cache"],
                       check=True, capture_output=True)
        whole = time.perf_counter() - started
    finally:
        subprocess.run([PROVISION, "destroy", "bench", "--yes"], check=True, capture_output=True)
    per_step = (t40 - t10) / 30
    base_step = (b40 - b10) / 30
    print(f"{'measure':44} {'zenprovision':>13} {'baseline':>10} {'target':>8}")
    print(f"{'10-step chain, wall':44} {t10 * 1000:11.1f}ms {b10 * 1000:8.1f}ms")
    print(f"{'40-step chain, wall':44} {t40 * 1000:11.1f}ms {b40 * 1000:8.1f}ms")
    print(f"{'16-way fan-out (18 steps), wall':44} {t16 * 1000:11.1f}ms")
    print(f"{'per-step overhead (T40 - T10) / 30':44} {per_step * 1000:11.2f}ms {base_step * 1000:8.2f}ms {'5ms':>8}")
    print(f"{'provision run chain10 (whole process)':44} {whole * 1000:11.0f}ms {'':>10} {'1000ms':>8}")
    print(f"(local stack, workers=2, cores: {os.cpu_count()}, caching off, artifacts and metadata persisted)")


if __name__ == "__main__":
    main()
