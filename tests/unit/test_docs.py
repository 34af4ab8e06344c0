"""docs/cli.md must match what --help says."""

import runpy
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


def test_cli_reference_is_current():
    render = runpy.run_path(str(DOCS / "gen_cli_reference.py"))["render"]
    assert (DOCS / "cli.md").read_text() == render(), "run: python docs/gen_cli_reference.py"
