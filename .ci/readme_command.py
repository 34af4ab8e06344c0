"""Print one of README.md's two commands, so CI runs exactly what a new user types.

Usage: python3 .ci/readme_command.py main|test
"""

import re
import sys
from pathlib import Path

MARKERS = {"main": "# deploy the local stack", "test": "# run the whole test suite"}


def command(which: str) -> str:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    for block in re.findall(r"```bash\n(.*?)```", readme.read_text(), flags=re.S):
        lines = block.strip().splitlines()
        if lines and lines[0].startswith(MARKERS[which]):
            return " ".join(line.strip() for line in lines[1:])
    raise SystemExit(f"README.md has no bash block starting with {MARKERS[which]!r}")


if __name__ == "__main__":
    print(command(sys.argv[1]))
