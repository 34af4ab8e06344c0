"""The embedded engine's apply worker starts while the plan runs, and a spare never outlives its use."""

import os

import pytest

from zenprovision.engines.embedded import engine as embedded
from zenprovision.engines.embedded.engine import EmbeddedEngine, Worker


@pytest.fixture
def started(monkeypatch) -> list[Worker]:
    made: list[Worker] = []
    real = Worker.start.__func__

    def start(cls, stack, warm=False):
        made.append(real(cls, stack, warm))
        return made[-1]

    monkeypatch.setattr(Worker, "start", classmethod(start))
    return made


def test_the_apply_runs_in_the_worker_started_before_the_plan(home, started):
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    spare = started[0]
    assert engine._worker("s") is spare  # what `up` runs in
    spare.discard()
    assert len(started) == 1


def test_an_unused_spare_exits_and_leaves_no_process(home, started):
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    engine.close()
    assert started[0].proc.returncode is not None  # ended and reaped: no process, no zombie


def test_a_spare_started_under_another_environment_is_not_used(home, started, monkeypatch):
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    monkeypatch.setenv("ZENPROVISION_HOME", os.fspath(home / "elsewhere"))
    fresh = engine._worker("s")
    assert fresh is not started[0] and started[0].proc.returncode is not None
    fresh.discard()


def test_the_deploy_command_prepares_the_apply_and_lets_go_of_it(monkeypatch):
    calls = []
    monkeypatch.setattr(embedded.EmbeddedEngine, "prepare_up", lambda self, stack: calls.append(("prepare", stack)))
    monkeypatch.setattr(embedded.EmbeddedEngine, "close", lambda self: calls.append(("close",)))
    from zenprovision.cli import deploy_cmds

    class Stop(Exception):
        pass

    def plan(deployment):
        raise Stop

    monkeypatch.setattr("zenprovision.lifecycle.plan", plan)
    monkeypatch.setattr("zenprovision.lifecycle.prepare", lambda *a, **k: type("D", (), {"engine": EmbeddedEngine()})())
    with pytest.raises(Stop):
        deploy_cmds._deploy(None, "local", "s", (), None, None, None, None, True)
    assert calls == [("prepare", "s"), ("close",)]
