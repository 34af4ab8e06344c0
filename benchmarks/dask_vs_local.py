"""The 16-way fan-out on the local orchestrator and on a local Dask cluster with 2 workers,
side by side in one run, and the per-step overhead of the Dask path.

Both stacks use the same local artifact store; every output persisted, metadata recorded,
caching off. Per-step overhead: (T40 - T10) / 30 on a chain of trivial steps.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROVISION = str(Path(sys.executable).with_name("provision"))


def median_run(pipeline, stack: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        pipeline.run(stack=stack, cache=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def deploy(stack: str, *config: str) -> None:
    subprocess.run([PROVISION, "recipe", "local", "--stack", stack, "--yes", *config], check=True, capture_output=True)


def main() -> None:
    os.environ["ZENPROVISION_HOME"] = tempfile.mkdtemp(prefix="zenprovision-bench-")
    deploy("bench-local")
    deploy("bench-dask", "-c", "orchestrator=dask", "-c", "dask_workers=2")
    try:
        sys.path.insert(0, str(HERE))
        import chains

        rows = []
        for stack in ("bench-local", "bench-dask"):
            median_run(chains.chain10, stack, 1)  # warm-up: imports, pools, code package upload
            t10 = median_run(chains.chain10, stack)
            t40 = median_run(chains.chain40, stack)
            fan = median_run(chains.fanout16, stack)
            rows.append((stack, fan, (t40 - t10) / 30))
    finally:
        for stack in ("bench-local", "bench-dask"):
            subprocess.run([PROVISION, "destroy", stack, "--yes"], check=False, capture_output=True)
    print(f"{'stack':14} {'16-way fan-out':>15} {'per-step overhead':>18}")
    for stack, fan, per_step in rows:
        print(f"{stack:14} {fan * 1000:13.1f}ms {per_step * 1000:16.2f}ms")
    print(f"(2 workers each, cores: {os.cpu_count()}, local artifact store, caching off)")


if __name__ == "__main__":
    main()
