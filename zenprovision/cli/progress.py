"""Progress of a deploy, destroy or refresh, driven by the engine's event stream (stderr).

Each resource gets a line when its operation finishes, with the time it took. While
operations run: on a terminal, a live line per running resource with its elapsed time
(rich Live); otherwise, for logs and CI, one "still creating (Nm)" line per resource per
minute, so a 15-minute EKS cluster never looks like a hang.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zenprovision.cli.output import console, plain

SYMBOLS = {"create": "[green]+[/]", "update": "[yellow]~[/]", "replace": "[magenta]+-[/]",
           "delete": "[red]-[/]", "same": " "}
PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted"}
ING = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting",
       "refresh": "refreshing", "read": "reading"}
MINUTE = 60.0


def elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


@dataclass
class _Running:
    name: str
    op: str
    started: float
    minutes_told: int = 0


class Progress:
    """An engine event handler: ``lifecycle.apply(deployment, Progress())``.

    ``clock`` and ``poll`` are for tests: the ticker reads the clock, never sleeps a minute.
    """

    def __init__(self, out: Any = None, clock: Callable[[], float] = time.monotonic, poll: float = 5.0,
                 live: bool | None = None) -> None:
        self.out = out or console(stderr=True)
        self.clock, self.poll = clock, poll
        self.live_mode = self.out.is_terminal if live is None else live
        self.running: dict[str, _Running] = {}
        self._lock = threading.RLock()
        self._live: Any = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self.started = clock()

    def __call__(self, event: Any) -> None:
        idle = False
        with self._lock:
            if event.kind == "resource-pre":
                if not self.live_mode:  # on a terminal the live line says it
                    self.out.print(f"  {SYMBOLS.get(event.op, ' ')} {plain(event.name)} [dim]{event.op}...[/]")
                self.running[event.urn or event.name] = _Running(event.name, event.op, self.clock())
                self._start()
            elif event.kind in ("resource-done", "resource-failed"):
                self.running.pop(event.urn or event.name, None)
                self.out.print(self._finished(event))
                idle = not self.running
            elif event.kind == "diagnostic":
                self.out.print(f"  [yellow]![/] {plain(event.message)}")  # [id=...], [/path]: text
        if idle:  # outside the lock: the ticker may be waiting for it
            self.close()

    @staticmethod
    def _finished(event: Any) -> str:
        if event.kind == "resource-failed":
            return f"  [red]x[/] {plain(event.name)} {event.op} failed: {plain(event.message)}"
        verb = PAST.get(event.op, event.op)
        return f"  {SYMBOLS.get(event.op, ' ')} {plain(event.name)} {verb} [dim]in {event.seconds:.1f}s[/]"

    def _start(self) -> None:
        if self.live_mode and self._live is None:
            from rich.live import Live

            self._live = Live(console=self.out, get_renderable=self.render, transient=True, refresh_per_second=4)
            self._live.start()
            atexit.register(self.close)
        elif not self.live_mode and self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick_until_stopped, name="progress-ticker", daemon=True)
            self._ticker.start()

    def render(self) -> Any:
        """The live lines: each running resource with its elapsed time."""
        from rich.text import Text

        now = self.clock()
        with self._lock:
            lines = [f"  {SYMBOLS.get(r.op, ' ')} {plain(r.name)} [dim]{ING.get(r.op, r.op)}... {elapsed(now - r.started)}[/]"
                     for r in self.running.values()]
        return Text.from_markup("\n".join(lines))

    def tick(self) -> None:
        """Tell each resource that crossed another whole minute since it started (non-terminal)."""
        now = self.clock()
        with self._lock:
            for running in self.running.values():
                minutes = int((now - running.started) // MINUTE)
                if minutes > running.minutes_told:
                    running.minutes_told = minutes
                    self.out.print(f"  {SYMBOLS.get(running.op, ' ')} {plain(running.name)} "
                                   f"[dim]still {ING.get(running.op, running.op)} ({minutes}m)[/]")

    def _tick_until_stopped(self) -> None:
        while not self._stop.wait(self.poll):
            self.tick()

    def close(self) -> None:
        """Stop the live display or the ticker; safe to call twice, and at exit."""
        with self._lock:
            live, self._live = self._live, None
            ticker, self._ticker = self._ticker, None
        if live is not None:
            live.stop()
        if ticker is not None:
            self._stop.set()
            if ticker is not threading.current_thread():
                ticker.join(timeout=5)
