"""Progress during long operations: live lines on a terminal, a ticker per minute in logs."""

import io
import time

from rich.console import Console

from zenprovision.cli.progress import Progress
from zenprovision.engines.base import EngineEvent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _console(terminal: bool) -> Console:
    return Console(file=io.StringIO(), force_terminal=terminal, width=120, color_system=None)


def pre(name: str, op: str = "create") -> EngineEvent:
    return EngineEvent(kind="resource-pre", op=op, urn=f"urn:{name}", name=name)


def done(name: str, seconds: float, op: str = "create") -> EngineEvent:
    return EngineEvent(kind="resource-done", op=op, urn=f"urn:{name}", name=name, seconds=seconds)


def test_ticker_tells_each_running_resource_once_per_minute():
    out, clock = _console(False), Clock()
    progress = Progress(out=out, clock=clock, poll=3600)  # the thread never ticks here: we do
    progress(pre("eks-cluster"))
    clock.now += 30
    progress(pre("eks-nodes", "update"))
    progress.tick()
    clock.now += 31  # cluster at 61 s, nodes at 31 s
    progress.tick()
    progress.tick()  # the same minute is told once
    clock.now += 120  # cluster at 181 s, nodes at 151 s
    progress.tick()
    progress(done("eks-cluster", 181.0))
    progress(done("eks-nodes", 151.0, "update"))
    lines = [line.strip() for line in out.file.getvalue().splitlines()]
    assert [line for line in lines if "still" in line] == [
        "+ eks-cluster still creating (1m)", "+ eks-cluster still creating (3m)", "~ eks-nodes still updating (2m)"]
    assert lines[-2:] == ["+ eks-cluster created in 181.0s", "~ eks-nodes updated in 151.0s"]
    assert progress._ticker is None  # stopped once nothing runs


def test_ticker_thread_ticks_on_its_own():
    out, clock = _console(False), Clock()
    progress = Progress(out=out, clock=clock, poll=0.01)
    progress(pre("eks-cluster"))
    clock.now += 60
    deadline = time.monotonic() + 30
    while "still creating (1m)" not in out.file.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    progress(done("eks-cluster", 60.0))
    assert "still creating (1m)" in out.file.getvalue()
    assert progress._ticker is None


def test_terminal_shows_a_live_line_per_running_resource_with_elapsed_time():
    out, clock = _console(True), Clock()
    progress = Progress(out=out, clock=clock)
    assert progress.live_mode
    progress(pre("eks-cluster"))
    clock.now += 5
    progress(pre("bucket"))
    clock.now += 60
    assert progress.render().plain.splitlines() == ["  + eks-cluster creating... 1m05s", "  + bucket creating... 1m00s"]
    progress(done("bucket", 60.0))
    assert progress.render().plain.splitlines() == ["  + eks-cluster creating... 1m05s"]
    assert progress._live is not None
    progress(EngineEvent(kind="resource-failed", op="create", urn="urn:eks-cluster", name="eks-cluster", message="quota"))
    assert progress._live is None  # the live display ends with the last running resource
    text = out.file.getvalue()
    assert "bucket created in 60.0s" in text and "eks-cluster create failed: quota" in text


def test_progress_picks_the_mode_from_the_stream():
    assert Progress(out=_console(True)).live_mode and not Progress(out=_console(False)).live_mode
