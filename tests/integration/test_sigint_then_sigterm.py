"""A stop that escalates (GitHub Actions' cancel sends SIGINT, then SIGTERM 7.5 s later; a
supervisor may do the same) must not turn into kill -9 of the engine worker mid-create: SIGTERM
after a SIGINT still lets the worker finish the create in flight, so state has no pending
operation. Main treats SIGTERM as a second Ctrl-C, and a second Ctrl-C kills the worker."""

import json
import signal

import pytest

from tests.integration.test_interruption import finish, held_files_deploy, release, wait_until_held

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigterm_after_sigint_still_lets_the_create_in_flight_finish(home, fixture_recipes, tmp_path):
    folder, gate = tmp_path / "files", tmp_path / "gate"
    proc = held_files_deploy("f", folder, gate)
    try:
        held = wait_until_held(proc, gate)
        proc.send_signal(signal.SIGINT)  # to the command only, as `kill -INT` or a CI runner
        assert wait_until_held(proc, gate, sign="interrupted") == held
        proc.send_signal(signal.SIGTERM)  # the runner escalates
    finally:
        release(gate, "a", "b", "index")
    code, err = finish(proc, 60)
    assert code == 130, err
    state = json.loads((home / "state" / "f.json").read_text())
    assert state["pending"] == [], state["pending"]
    assert {r["name"] for r in state["resources"]} == {held}
