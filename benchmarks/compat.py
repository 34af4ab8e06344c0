"""Does zenprovision install beside the tools its users already run? Prints pass/fail per combination.

Each combination is resolved with uv against the package index, as a user's
``pip install`` of both would be (not from our lock: the other tools are taken at their
newest release). With ``--install`` each passing combination is also installed into a
throw-away venv and the other tool is imported, so a resolution that only works on paper
is caught too.

    python benchmarks/compat.py [--install] [--python 3.11]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = f"zenprovision @ {ROOT.as_uri()}"

# name -> (requirements, a statement that must run in the installed venv)
COMBINATIONS: dict[str, tuple[list[str], str]] = {
    "core + zenml[local]": ([HERE, "zenml[local]"], "import zenml, zenprovision.cli"),
    "[aws,gcp] + zenml[local]": ([HERE.replace("zenprovision @", "zenprovision[aws,gcp] @"), "zenml[local]"],
                                 "import zenml, pulumi_aws, pulumi_gcp, kubernetes"),
    "[aws,gcp] + metaflow": ([HERE.replace("zenprovision @", "zenprovision[aws,gcp] @"), "metaflow"],
                             "import metaflow, s3fs, gcsfs"),
    "[aws,gcp] + zenml[local] + metaflow": (
        [HERE.replace("zenprovision @", "zenprovision[aws,gcp] @"), "zenml[local]", "metaflow"],
        "import zenml, metaflow, pulumi_aws"),
    "[all] + metaflow": ([HERE.replace("zenprovision @", "zenprovision[all] @"), "metaflow"],
                         "import metaflow, mlserver, distributed"),
    "[all] + zenml[local]": ([HERE.replace("zenprovision @", "zenprovision[all] @"), "zenml[local]"],
                             "import zenml, mlserver, distributed"),
}
SHOWN = ("zenml", "metaflow", "pydantic", "kubernetes", "pulumi", "mlserver", "fastapi")


def uv() -> str:
    local = ROOT / ".venv" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        sys.exit("uv is not installed: pip install uv")
    return found


def resolve(requirements: list[str], python: str) -> tuple[bool, str, dict[str, str]]:
    with tempfile.NamedTemporaryFile("w", suffix=".in", delete=False) as handle:
        handle.write("\n".join(requirements) + "\n")
    try:
        proc = subprocess.run([uv(), "pip", "compile", handle.name, "--python-version", python,
                               "--no-header", "--quiet", "--no-annotate"],
                              capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(handle.name)
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", proc.stdout, flags=re.M))
    reason = "" if proc.returncode == 0 else _first_reason(proc.stderr)
    return proc.returncode == 0, reason, pins


def install_and_import(requirements: list[str], statement: str, python: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as folder:
        venv = Path(folder) / "venv"
        steps = [[uv(), "venv", "--quiet", "--python", python, str(venv)],
                 [uv(), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *requirements],
                 [str(venv / "bin" / "python"), "-c", statement]]
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=1200)
            if proc.returncode != 0:
                return False, _first_reason(proc.stderr)
    return True, ""


def _first_reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "depends on" in line or "Because" in line or "Error" in line:
            return line[:160]
    return (lines[-1] if lines else "failed")[:160]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="also install each passing set and import it")
    parser.add_argument("--python", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    args = parser.parse_args()
    failures = 0
    print(f"{'combination':40} {'result':6} {'seconds':>7}  versions / reason")
    for name, (requirements, statement) in COMBINATIONS.items():
        started = time.monotonic()
        ok, reason, pins = resolve(requirements, args.python)
        if ok and args.install:
            ok, reason = install_and_import(requirements, statement, args.python)
        failures += not ok
        detail = ", ".join(f"{k} {pins[k]}" for k in SHOWN if k in pins) if ok else reason
        print(f"{name:40} {'pass' if ok else 'FAIL':6} {time.monotonic() - started:7.1f}  {detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
