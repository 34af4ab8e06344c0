"""What each install brings: package count and size on disk of the core and of each extra.

Each set is installed from uv.lock (the versions CI tests) into a throw-away venv, next
to the others in one run. Target: the core is what provisioning needs, nothing of the
runtime's heavy parts (MLServer, scikit-learn, Dask, cloud SDKs).

    python benchmarks/install_footprint.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {"core": [], "local": ["local"], "dask": ["dask"], "kubernetes": ["kubernetes"], "aws": ["aws"],
        "gcp": ["gcp"], "policy": ["policy"], "all": ["all"], "dev": ["dev"]}


def uv() -> str:
    local = ROOT / ".venv" / "bin" / "uv"
    return str(local) if local.exists() else (shutil.which("uv") or sys.exit("pip install uv"))


def footprint(extras: list[str]) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": folder, "UV_LINK_MODE": "copy"}
        command = [uv(), "sync", "--locked", "--quiet", "--no-install-project", "--no-dev"]
        command += [f"--extra={extra}" for extra in extras]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        site = next(Path(folder).glob("lib/python*/site-packages"))
        packages = len(list(site.glob("*.dist-info")))
        size = sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file() and not path.is_symlink())
    return packages, size / 2**20


def main() -> None:
    print(f"{'install':12} {'packages':>8} {'MiB':>8}")
    for name, extras in SETS.items():
        packages, mib = footprint(extras)
        print(f"{name:12} {packages:8d} {mib:8.0f}")


if __name__ == "__main__":
    main()
