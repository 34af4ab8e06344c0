"""The embedded engine's worker starts ahead of its job (issue 15), and one never used exits."""

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
    yield made
    embedded.release_prestarted()


def test_the_apply_runs_in_the_worker_started_before_the_plan(home, started):
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    assert engine._worker({"mode": "plan", "stack": "s"}) is not started[0]  # the plan gets its own
    assert engine._worker({"mode": "up", "stack": "s"}) is started[0]
    for worker in started:
        worker.discard()
    assert len(started) == 2


def test_a_worker_started_for_one_stack_is_not_used_for_another(home, started):
    embedded.prestart("s")
    other = EmbeddedEngine._worker({"mode": "destroy", "stack": "t"})
    assert other is not started[0]
    other.discard()
    assert EmbeddedEngine._worker({"mode": "destroy", "stack": "s"}) is started[0]
    started[0].discard()


def test_an_unused_worker_exits_and_leaves_no_process(home, started):
    engine = EmbeddedEngine()
    engine.prepare_up("s")
    engine.close()
    assert started[0].proc.returncode == 0  # read no job, ended quietly, reaped


def test_a_worker_started_under_another_environment_is_not_used(home, started, monkeypatch):
    embedded.prestart("s")
    monkeypatch.setenv("ZENPROVISION_HOME", os.fspath(home / "elsewhere"))
    fresh = EmbeddedEngine._worker({"mode": "up", "stack": "s"})
    assert fresh is not started[0] and started[0].proc.returncode == 0
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
        deploy_cmds._deploy("local", "s", (), None, None, None, None, True)
    assert calls == [("prepare", "s"), ("close",)]


def test_destroy_starts_the_worker_of_an_embedded_stack_first_and_lets_go_of_it(home, cli, monkeypatch):
    calls = []
    monkeypatch.setattr(embedded, "prestart", lambda stack: calls.append(("prestart", stack)))
    monkeypatch.setattr(embedded, "release_prestarted", lambda: calls.append(("release",)))
    from click.testing import CliRunner

    from zenprovision.cli import deploy_cmds
    from zenprovision.engines.embedded import state

    state.state_path("s").parent.mkdir(parents=True)
    state.state_path("s").write_text("{}")
    CliRunner().invoke(deploy_cmds.destroy_command, ["s"], input="n\n")  # declined at the prompt
    CliRunner().invoke(deploy_cmds.destroy_command, ["t"], input="n\n")  # no embedded state: nothing to start
    assert calls == [("prestart", "s"), ("release",), ("release",)]
