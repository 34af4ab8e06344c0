"""``python -m zenprovision.runtime.entrypoint --run RUN_ID --step STEP``: a step, remotely.

The artifact store's config comes from ``ZENPROVISION_ARTIFACT_STORE`` (the component's
JSON: flavor and config, never credentials; those come from the machine's identity).
Exit status 0 when the step succeeded, 1 when it failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zenprovision.runtime.entrypoint")
    parser.add_argument("--run", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--artifact-store", default=os.environ.get("ZENPROVISION_ARTIFACT_STORE"),
                        help="the artifact store component as JSON (default: $ZENPROVISION_ARTIFACT_STORE)")
    args = parser.parse_args(argv)
    if not args.artifact_store:
        parser.error("no artifact store: set ZENPROVISION_ARTIFACT_STORE or pass --artifact-store")
    from zenprovision.runtime.remote import run_remote_step

    result = run_remote_step(json.loads(args.artifact_store), args.run, args.step)
    if not result.ok:
        sys.stderr.write(result.traceback or result.error + "\n")
        sys.stderr.write(f"step {args.step} failed: {result.error}\n")
        return 1
    sys.stdout.write(f"step {args.step} succeeded: {result.artifact['uri']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
