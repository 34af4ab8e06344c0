"""`provision plan <cloud recipe> --offline`: time against its 3 s target, and against a floor.

In one run, for each cloud recipe:
  plan            the whole command, as a user types it (wall and CPU of CLI + engine worker)
  eager SDK       the same with ZENPROVISION_EAGER_SDK=1: provider SDK packages imported whole,
                  as before the lazy loader (zenprovision/engines/embedded/lazy_sdk.py)
  floor           a bare `import pulumi` plus the provider SDK modules of every resource type
                  the plan lists (imported as any Pulumi program imports them)
Wall times depend on the machine's load (printed); CPU times (user + sys of the processes)
much less. Bytecode caching off (PYTHONDONTWRITEBYTECODE) roughly doubles every figure.
Usage: python benchmarks/offline_plan.py [RUNS]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 3.0
RECIPES = {"aws-k8s": [], "gcp-k8s": ["-c", "project=acme-ml"]}


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the child processes, and stdout of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.stdout


def sdk_module(type_token: str) -> tuple[str, str] | None:
    """``aws:ec2/vpc:Vpc`` -> (pulumi_aws.ec2, Vpc); ``kubernetes:helm.sh/v3:Release`` -> (..helm.v3, ..)."""
    package, _, rest = type_token.partition(":")
    module, _, name = rest.partition(":")
    if package in ("aws", "gcp"):
        return f"pulumi_{package}.{module.split('/')[0]}", name
    if package == "kubernetes":
        group, _, version = module.partition("/")
        return f"pulumi_kubernetes.{group.split('.')[0]}.{version}", name
    return None


def floor_program(types: list[str]) -> str:
    wanted = sorted({m for m in map(sdk_module, types) if m is not None})
    lines = ["import importlib", "import pulumi"]
    lines += [f"getattr(importlib.import_module({module!r}), {name!r})" for module, name in wanted]
    return "\n".join(lines)


def runs_of(args: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, _ = measure(args, env)
        walls.append(wall)
        cpus.append(cpu)
    return walls, cpus


def row(label: str, walls: list[float], cpus: list[float], target: float | None) -> str:
    mark = "" if target is None else ("  ok" if min(walls) <= target else "  over")
    goal = f"{target:6.1f} s" if target is not None else "       -"
    return (f"  {label:<28} wall min {min(walls):5.2f} s  median {statistics.median(walls):5.2f} s  "
            f"cpu {statistics.median(cpus):5.2f} s   target {goal}{mark}")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory(prefix="zenprovision-bench-") as home:
        env = {**os.environ, "ZENPROVISION_HOME": home}
        env.pop("ZENPROVISION_EAGER_SDK", None)
        report(runs, env)


def report(runs: int, env: dict[str, str]) -> None:
    print(f"offline plans, {runs} runs each; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"bytecode cache {'OFF' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'on'}")
    for recipe, extra in RECIPES.items():
        command = [sys.executable, "-m", "zenprovision", "plan", recipe, "--stack", "bench", "--offline", *extra]
        _, _, out = measure([*command, "--json"], env)  # also warms the bytecode cache
        types = sorted({c["type"] for c in json.loads(out)["changes"] if c["custom"]})
        print(f"{recipe} ({len(types)} resource types)")
        print(row("plan", *runs_of(command, env, runs), TARGET))
        print(row("plan, eager SDK imports", *runs_of(command, {**env, "ZENPROVISION_EAGER_SDK": "1"}, runs), None))
        print(row("floor: pulumi + SDK modules", *runs_of([sys.executable, "-c", floor_program(types)], env, runs),
                  None))


if __name__ == "__main__":
    main()
