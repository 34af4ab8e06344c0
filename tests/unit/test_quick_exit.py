"""``quick_exit.run_then_exit``: an exit without the interpreter's teardown that is otherwise
an ordinary exit (its status, its joined threads, its atexit functions, its flushed output)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """\
import sys, threading, time
from zenprovision.quick_exit import run_then_exit

def late_writer():
    time.sleep(0.3)
    with open(sys.argv[1], "w") as handle:
        handle.write("written by a thread the exit waited for")

def main():
    threading.Thread(target=late_writer).start()  # not a daemon: an ordinary exit waits for it
    sys.stdout.write("buffered")
    {ending}

run_then_exit(main)
"""


def run(tmp_path: Path, ending: str) -> tuple[subprocess.CompletedProcess, Path]:
    marker = tmp_path / "thread.txt"
    with open(tmp_path / "out", "wb") as out:
        proc = subprocess.run([sys.executable, "-c", PROGRAM.format(ending=ending), str(marker)], stdout=out,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    proc.stdout = (tmp_path / "out").read_text()
    return proc, marker


@pytest.mark.parametrize(("ending", "code"), [("return None", 0), ("return 4", 4), ("return 0", 0),
                                              ("raise SystemExit(5)", 5), ("raise ValueError('x')", 1)])
def test_the_status_is_what_main_gave_and_its_threads_and_output_are_not_lost(tmp_path, ending, code):
    proc, marker = run(tmp_path, ending)
    assert proc.returncode == code
    assert proc.stdout == "buffered"
    assert marker.read_text() == "written by a thread the exit waited for"


def test_what_main_raised_is_printed_as_the_interpreter_would(tmp_path):
    proc, _ = run(tmp_path, "raise ValueError('the model repository is gone')")
    assert "Traceback" in proc.stderr and "ValueError: the model repository is gone" in proc.stderr


def test_exit_status_follows_sys_exit(capsys):
    from zenprovision.quick_exit import exit_status

    assert [exit_status(None), exit_status(0), exit_status(3), exit_status(True)] == [0, 0, 3, True]
    assert exit_status("no settings") == 1
    assert capsys.readouterr().err == "no settings\n"
