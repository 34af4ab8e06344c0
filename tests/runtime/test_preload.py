"""The local orchestrator imports what its steps import once, before its workers fork."""

import sys

from zenprovision.runtime.preload import preload, step_imports


def uses_json_tool():
    import json.tool  # noqa: F401
    from email.mime import text  # noqa: F401

    from . import nothing  # noqa: F401  (relative: not ours to guess)


def needs_a_missing_library():
    import no_such_library_zp15  # noqa: F401


def test_the_imports_inside_step_bodies_are_found():
    assert step_imports([uses_json_tool, needs_a_missing_library, len]) == [
        "email.mime", "json.tool", "no_such_library_zp15"]


def test_preload_imports_them_and_leaves_a_failing_one_to_its_step(monkeypatch):
    for name in ("json.tool", "email.mime"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    loaded = preload([uses_json_tool, needs_a_missing_library])
    assert loaded == ["email.mime", "json.tool"] and "json.tool" in sys.modules
    assert "no_such_library_zp15" not in sys.modules


def test_a_forked_worker_inherits_what_the_run_preloaded(tmp_path):
    from zenprovision.runtime.orchestrators.local import LocalOrchestrator

    sys.modules.pop("json.tool", None)
    orchestrator = LocalOrchestrator({"workers": 1})
    orchestrator.warm_up([uses_json_tool])
    with orchestrator.executor() as pool:
        assert pool.submit(_was_loaded_before_the_step, "json.tool").result(timeout=60) is True


def _was_loaded_before_the_step(name: str) -> bool:
    return name in sys.modules


def test_a_step_used_by_many_nodes_is_read_once(monkeypatch):
    import inspect

    read = []
    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda function: read.append(function) or real(function))
    assert step_imports([uses_json_tool] * 40) == ["email.mime", "json.tool"]
    assert read == [uses_json_tool]  # a 40-step chain of one step pays for one parse, not forty


def test_the_workers_fork_after_the_preload_and_inherit_it(local_stack, monkeypatch):
    from tests.runtime.pipelines.preloaded import preloaded

    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    summary = preloaded.run(stack=local_stack, cache=False)
    assert summary.output("saw_preload") is True  # the step found it imported: it paid nothing
