"""The scheduler as a run shows it, in-process (so mutation testing sees it): the cache hits only when a step's
code, inputs and parameters are unchanged; a failed step is retried as configured and its dependents skipped; a
resumed run reuses what succeeded. One worker, so the order steps finish in is the order they were started."""

from __future__ import annotations

import datetime
import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.runtime.conftest import make_stack
from zenprovision import Secret, get_step_context, pipeline, step
from zenprovision.runtime.metadata import MetadataStore
from zenprovision.runtime.orchestrators.base import BaseOrchestrator
from zenprovision.runtime.orchestrators.local import LocalOrchestrator
from zenprovision.runtime.runner import run_pipeline

MARKERS = "ZP_SCHEDULER_MARKERS"


def _ran(name: str) -> int:
    """Counts this step's executions in a file, across worker processes; returns this one's number."""
    path = Path(os.environ[MARKERS]) / name
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    return count


def _gate(name: str) -> bool:
    return (Path(os.environ[MARKERS]) / name).exists()


@step
def numbers(n: int = 3) -> list:
    _ran("numbers")
    return list(range(n))


@step
def total(items: list, bonus: int = 0) -> int:
    _ran("total")
    get_step_context().log_metadata(items=len(items))
    return sum(items) + bonus


@step
def double(x: int) -> int:
    _ran("double")
    if not _gate("double-ok"):
        raise ValueError("double is not ready")
    return 2 * x


@pipeline
def chain(n: int = 3, bonus: int = 0):
    double(total(numbers(n=n), bonus=bonus))


@step(cache=False)
def fresh_numbers(n: int = 3) -> list:
    _ran("fresh_numbers")
    return list(range(n))


@pipeline
def uncached_source():
    total(fresh_numbers(), bonus=0)


@step(name="produce")
def produce_v1() -> int:
    _ran("produce")
    return 1


@step(name="produce")
def produce_v2() -> int:
    _ran("produce")
    return 1 + 0  # other code, same output


@pipeline
def version_one():
    produce_v1()


@pipeline
def version_two():
    produce_v2()


@step(retries=2)
def broken() -> int:
    _ran("broken")
    raise RuntimeError("broken for good")


@step(retries=2)
def flaky() -> int:
    if _ran("flaky") < 3:
        raise ConnectionError("transient")
    return 7


@step
def after(x: int) -> int:
    _ran("after")
    return x + 1


@step
def last(x: int) -> int:
    _ran("last")
    return x + 1


@step
def beside() -> str:
    get_step_context().log_metadata(run=True, beside="ran")
    return "fine"


@pipeline
def failing():
    last(after(broken()))
    beside()


@pipeline
def retried():
    after(flaky())


@step
def first_failure() -> int:
    raise ValueError("the first failure")


@step
def second_failure(x: str) -> int:
    raise ValueError("the second failure")


@pipeline
def two_failures():
    first_failure()
    second_failure(beside())


@step
def dies_once() -> str:
    if _ran("dies_once") == 1:
        os._exit(3)  # the worker vanishes, as under the OOM killer
    return "second attempt"


@step
def dies_always() -> str:
    _ran("dies_always")
    os._exit(3)


@pipeline
def dying_once():
    dies_once()


@pipeline
def dying_always():
    after(dies_always())  # after never runs


@step
def leaks(token: str) -> str:
    raise PermissionError(f"login refused for token {token}")


@pipeline
def leaky(token: Secret[str] = "s3cr3t-value-42"):
    leaks(token=token)


@step
def configure(options: dict, day: datetime.date) -> str:
    _ran("configure")
    return f"{sorted(options.items())} {day}"


@pipeline
def options_ab(day: str = "2026-12-02"):
    configure(options={"a": 1, "b": 2}, day=datetime.date.fromisoformat(day))


@pipeline
def options_ba(day: str = "2026-12-02"):
    configure(options={"b": 2, "a": 1}, day=datetime.date.fromisoformat(day))


@step
def whoami() -> list:
    context = get_step_context()
    return [context.run_id, context.node_id]


@pipeline
def identity():
    whoami()


@step
def logs_then_fails() -> int:
    get_step_context().log_metadata(rows_read=120)
    raise ValueError("row 121 is malformed")


@pipeline
def half_done():
    logs_then_fails()


@step
def waits_for(marker: str) -> bool:
    """True once ``marker`` exists; False if it never came (bounded, so a broken scheduler fails, not hangs)."""
    path = Path(os.environ[MARKERS]) / marker
    for _ in range(600):
        if path.exists():
            return True
        time.sleep(0.05)
    return False


@step
def opens(ready: str, marker: str) -> str:
    (Path(os.environ[MARKERS]) / marker).write_text("")
    return marker


@pipeline
def start_when_ready():
    opens(beside(), marker="go")
    waits_for(marker="go")


@pipeline
def skip_at_once():
    after(first_failure())
    waits_for(marker="after-skipped")


@pytest.fixture
def stack(home, tmp_path, monkeypatch) -> str:
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv(MARKERS, str(folder))
    make_stack("one", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}}, workers=1)
    return "one"


@pytest.fixture
def two_workers(stack, home) -> str:
    make_stack("two", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}}, workers=2)
    return "two"


def ran(name: str) -> int:
    path = Path(os.environ[MARKERS]) / name
    return int(path.read_text()) if path.exists() else 0


def run(pipe, stack, events=None, **kwargs):
    on_event = (lambda *event: events.append(event)) if events is not None else (lambda *event: None)
    return run_pipeline(pipe, stack, kwargs.pop("params", {}), on_event=on_event, raise_on_failure=False, **kwargs)


def steps(stack, run_id) -> dict[str, dict]:
    return {s["node_id"]: s for s in MetadataStore(stack).run(run_id)["steps"]}


def open_gate(name: str) -> None:
    (Path(os.environ[MARKERS]) / name).write_text("")


# --- the cache --------------------------------------------------------------------------------------------------

def test_an_unchanged_run_comes_whole_from_the_cache_of_the_run_that_computed_it(stack):
    open_gate("double-ok")
    one = run(chain, stack)
    assert one.steps == {"numbers": "succeeded", "total": "succeeded", "double": "succeeded"}
    events = []
    two = run(chain, stack, events)
    three = run(chain, stack)
    assert two.steps == three.steps == {"numbers": "cached", "total": "cached", "double": "cached"}
    assert (ran("numbers"), ran("total"), ran("double")) == (1, 1, 1)
    assert {s["cached_from"] for s in steps(stack, three.run_id).values()} == {one.run_id}
    assert [e for e in events if e[0] != "run"] == [("cached", n, one.run_id) for n in ("numbers", "total", "double")]
    assert two.output("double") == 6 and three.output("double") == 6


def test_a_changed_parameter_reruns_that_step_and_what_reads_it(stack):
    open_gate("double-ok")
    run(chain, stack, params={"bonus": 1})
    changed = run(chain, stack, params={"bonus": 2})
    assert changed.steps == {"numbers": "cached", "total": "succeeded", "double": "succeeded"}
    assert changed.output("double") == 2 * (0 + 1 + 2 + 2)
    back = run(chain, stack, params={"bonus": 1})  # the first run's outputs are still in the cache
    assert back.steps == {"numbers": "cached", "total": "cached", "double": "cached"}
    assert back.output("double") == 8


def test_a_changed_input_reruns_the_step_and_an_identical_one_does_not(stack):
    open_gate("double-ok")
    run(chain, stack, params={"n": 3})
    other = run(chain, stack, params={"n": 4})
    assert other.steps == {"numbers": "succeeded", "total": "succeeded", "double": "succeeded"}
    assert other.output("double") == 12
    first = run(uncached_source, stack)
    again = run(uncached_source, stack)  # the source runs again, but outputs the same bytes
    assert first.steps == {"fresh_numbers": "succeeded", "total": "cached"}  # the same input as chain's n=3
    assert again.steps == {"fresh_numbers": "succeeded", "total": "cached"}
    assert ran("fresh_numbers") == 2 and ran("total") == 2


def test_changed_code_reruns_the_step(stack):
    assert run(version_one, stack).steps == {"produce": "succeeded"}
    assert run(version_two, stack).steps == {"produce": "succeeded"}
    assert run(version_one, stack).steps == {"produce": "cached"}
    assert ran("produce") == 2


def test_no_cache_for_the_run_or_the_step_reruns_it(stack):
    open_gate("double-ok")
    run(chain, stack)
    assert run(chain, stack, cache=False).steps == {"numbers": "succeeded", "total": "succeeded",
                                                    "double": "succeeded"}
    assert ran("numbers") == 2
    run(uncached_source, stack)
    run(uncached_source, stack)
    assert ran("fresh_numbers") == 2


@pytest.mark.parametrize("damage", ["delete", "empty", "list", "other-hash"])
def test_a_cached_output_that_is_gone_or_damaged_is_computed_again(stack, home, damage):
    open_gate("double-ok")
    one = run(chain, stack)
    meta = home / "artifacts" / one.artifacts["total"]["relpath"]  # the meta file: a relpath names it
    if damage == "delete":
        meta.unlink()
    else:
        recorded = json.loads(meta.read_text())
        meta.write_text({"empty": "", "list": "[]", "other-hash": json.dumps({**recorded, "hash": "0" * 64})}[damage])
    two = run(chain, stack)
    assert two.steps == {"numbers": "cached", "total": "succeeded", "double": "cached"}
    assert two.output("double") == 6 and ran("total") == 2


def test_every_output_is_recorded_with_its_lineage_under_the_run_and_step(stack):
    open_gate("double-ok")
    one = run(chain, stack)
    two = run(chain, stack)
    for summary in (one, two):
        shown = MetadataStore(stack).run(summary.run_id)
        ids = {a["node_id"]: a["id"] for a in shown["artifacts"]}
        assert {(x["node_id"], x["input"], x["artifact_id"]) for x in shown["lineage"]} == {
            ("total", "items", ids["numbers"]), ("double", "x", ids["total"])}
    assert one.artifacts["total"]["relpath"] == f"runs/{one.run_id}/.total.meta.json"
    assert steps(stack, one.run_id)["total"]["metadata"] == {"items": 3}
    cache_keys = {n: s["cache_key"] for n, s in steps(stack, one.run_id).items()}
    assert cache_keys == {n: s["cache_key"] for n, s in steps(stack, two.run_id).items()}
    assert len(set(cache_keys.values())) == 3 and all(len(k) == 64 for k in cache_keys.values())


def test_the_orchestrator_warms_up_once_and_not_for_a_run_from_the_cache(stack, monkeypatch):
    warmed = []
    monkeypatch.setattr(LocalOrchestrator, "warm_up", lambda self, functions: warmed.append(functions))
    open_gate("double-ok")
    run(chain, stack)
    assert warmed == [[numbers.func, total.func, double.func]]
    run(chain, stack)
    assert len(warmed) == 1


# --- retries, failures, skipping -------------------------------------------------------------------------------

def test_a_failing_step_is_tried_retries_plus_one_times_and_its_dependents_skipped(stack):
    events = []
    summary = run(failing, stack, events)
    assert summary.steps == {"broken": "failed", "after": "skipped", "last": "skipped", "beside": "succeeded"}
    assert summary.failed_step == "broken" and summary.error == "RuntimeError: broken for good"
    assert "Traceback" in summary.traceback and summary.metadata == {"beside": "ran"}
    assert ran("broken") == 3 and ran("after") == ran("last") == 0
    recorded = steps(stack, summary.run_id)
    assert recorded["broken"]["attempts"] == 3 and recorded["broken"]["status"] == "failed"
    assert "RuntimeError: broken for good" in recorded["broken"]["error"] and "Traceback" in recorded["broken"]["error"]
    assert {recorded[n]["status"] for n in ("after", "last")} == {"skipped"}
    kinds = [(kind, node) for kind, node, _ in events if node in ("broken", "after", "last")]
    assert kinds == [("start", "broken"), ("retry", "broken"), ("start", "broken"), ("retry", "broken"),
                     ("start", "broken"), ("failed", "broken"), ("skipped", "after"), ("skipped", "last")]
    assert {detail for kind, _, detail in events if kind in ("retry", "failed")} == {"RuntimeError: broken for good"}
    assert {detail for kind, _, detail in events if kind in ("start", "skipped")} == {""}  # nothing more to say


def test_a_step_that_succeeds_within_its_retries_feeds_its_dependents(stack):
    summary = run(retried, stack)
    assert summary.steps == {"flaky": "succeeded", "after": "succeeded"} and summary.output("after") == 8
    assert steps(stack, summary.run_id)["flaky"]["attempts"] == 3


def test_the_first_failure_is_the_one_reported(stack):
    summary = run(two_failures, stack)
    assert summary.steps == {"first_failure": "failed", "beside": "succeeded", "second_failure": "failed"}
    assert summary.failed_step == "first_failure" and summary.error == "ValueError: the first failure"


def test_a_failed_step_records_what_it_read(stack):
    summary = run(chain, stack)  # double's gate is closed
    shown = MetadataStore(stack).run(summary.run_id)
    total_id = next(a["id"] for a in shown["artifacts"] if a["node_id"] == "total")
    assert [(x["node_id"], x["input"], x["artifact_id"]) for x in shown["lineage"] if x["node_id"] == "double"] == [
        ("double", "x", total_id)]


def test_a_worker_that_dies_gets_one_more_attempt_even_without_retries(stack):
    once = run(dying_once, stack)
    assert once.steps == {"dies_once": "succeeded"} and once.output("dies_once") == "second attempt"
    assert steps(stack, once.run_id)["dies_once"]["attempts"] == 2
    always = run(dying_always, stack)
    assert always.steps == {"dies_always": "failed", "after": "skipped"} and ran("dies_always") == 2
    assert always.failed_step == "dies_always"
    assert always.error.startswith("the step's process died: BrokenProcessPool: ")


def test_a_failed_step_never_reports_or_stores_a_secret(stack):
    summary = run(leaky, stack, params={"token": "tok-9f8e7d6c5b"})
    assert summary.failed_step == "leaks" and "[secret]" in summary.error and "[secret]" in summary.traceback
    stored = json.dumps(MetadataStore(stack).run(summary.run_id), default=str)
    assert "tok-9f8e7d6c5b" not in summary.error + summary.traceback + stored


def test_an_interrupted_run_stops_its_workers(stack, monkeypatch):
    aborted = []
    original = LocalOrchestrator.abort
    monkeypatch.setattr(LocalOrchestrator, "abort", lambda self, executor: aborted.append(original(self, executor)))

    def interrupt(kind, node, detail):
        if kind == "start":
            raise KeyboardInterrupt

    from zenprovision.errors import CancelledError

    with pytest.raises(CancelledError):
        run_pipeline(chain, stack, {}, on_event=interrupt)
    assert len(aborted) == 1


# --- resume -----------------------------------------------------------------------------------------------------

def test_resume_reuses_what_succeeded_and_runs_the_rest(stack):
    failed = run(chain, stack, params={"bonus": 1})
    assert failed.steps == {"numbers": "succeeded", "total": "succeeded", "double": "failed"}
    open_gate("double-ok")
    events = []
    resumed = run(chain, stack, events, params={"bonus": 1}, resume=failed.run_id, cache=False)
    assert resumed.steps == {"numbers": "cached", "total": "cached", "double": "succeeded"}
    assert resumed.output("double") == 8 and (ran("numbers"), ran("total"), ran("double")) == (1, 1, 2)
    recorded = steps(stack, resumed.run_id)
    assert recorded["total"]["cached_from"] == failed.run_id and recorded["double"]["cached_from"] is None
    assert ("cached", "total", failed.run_id) in events


def test_resume_reruns_a_step_whose_parameters_changed_and_what_reads_it(stack):
    failed = run(chain, stack, params={"bonus": 1})
    open_gate("double-ok")
    resumed = run(chain, stack, params={"bonus": 5}, resume=failed.run_id, cache=False)
    assert resumed.steps == {"numbers": "cached", "total": "succeeded", "double": "succeeded"}
    assert resumed.output("double") == 16


def test_resume_reruns_a_step_whose_output_is_gone(stack, home):
    failed = run(chain, stack)
    (home / "artifacts" / failed.artifacts["numbers"]["relpath"]).unlink()
    open_gate("double-ok")
    resumed = run(chain, stack, resume=failed.run_id, cache=False)
    assert resumed.steps == {"numbers": "succeeded", "total": "cached", "double": "succeeded"}
    assert resumed.output("double") == 6



# --- what a run records and reports ------------------------------------------------------------------------------

def test_the_progress_events_of_a_run(stack):
    open_gate("double-ok")
    events = []
    summary = run(chain, stack, events)
    assert [(kind, node, detail) for kind, node, detail in events if kind != "succeeded"] == [
        ("run", summary.run_id, ""), ("start", "numbers", ""), ("start", "total", ""), ("start", "double", "")]
    succeeded = [(kind, node) for kind, node, _ in events if kind == "succeeded"]
    assert succeeded == [("succeeded", "numbers"), ("succeeded", "total"), ("succeeded", "double")]
    assert all(re.fullmatch(r"\d+\.\d\ds", detail) for kind, _, detail in events if kind == "succeeded")


def test_every_step_row_names_its_step_and_when_it_started(stack):
    failed = run(failing, stack)
    open_gate("double-ok")
    run(chain, stack)
    cached = run(chain, stack)
    for summary, names in ((failed, {"broken": "broken", "after": "after", "last": "last", "beside": "beside"}),
                           (cached, {"numbers": "numbers", "total": "total", "double": "double"})):
        recorded = steps(stack, summary.run_id)
        assert {n: s["step"] for n, s in recorded.items()} == names
        assert all(s["started"] is not None and s["started"] <= s["ended"] for s in recorded.values())
    artifacts = MetadataStore(stack).run(cached.run_id)["artifacts"]
    assert [a["name"] for a in artifacts] == ["output"] * 3


def test_a_step_shows_as_running_with_its_attempt_while_it_runs(stack):
    run_ids, seen = [], []

    def watch(kind, node, detail):
        if kind == "run":
            run_ids.append(node)
        elif kind == "start" and node == "broken":
            seen.append(next((s["step"], s["status"], s["attempts"], s["started"] is not None)
                             for s in MetadataStore(stack).run(run_ids[0])["steps"] if s["node_id"] == node))

    run_pipeline(failing, stack, {}, on_event=watch, raise_on_failure=False)
    assert seen == [("broken", "running", attempt, True) for attempt in (1, 2, 3)]


def test_a_step_knows_its_run_and_node(stack):
    summary = run(identity, stack)
    assert summary.output("whoami") == [summary.run_id, "whoami"]


def test_a_failed_step_keeps_the_metadata_it_logged(stack):
    summary = run(half_done, stack)
    recorded = steps(stack, summary.run_id)["logs_then_fails"]
    assert recorded["status"] == "failed" and recorded["metadata"] == {"rows_read": 120}
    assert "ValueError: row 121 is malformed" in recorded["error"]


def test_the_same_parameters_in_another_order_or_of_any_type_hit_the_cache(stack):
    assert run(options_ab, stack).steps == {"configure": "succeeded"}
    assert run(options_ba, stack).steps == {"configure": "cached"}
    assert run(options_ab, stack, params={"day": "2026-12-03"}).steps == {"configure": "succeeded"}
    assert ran("configure") == 2


def test_an_orchestrator_without_the_warm_up_hook_runs_the_pipeline(stack, monkeypatch):
    monkeypatch.delattr(LocalOrchestrator, "warm_up")
    monkeypatch.delattr(BaseOrchestrator, "warm_up")
    open_gate("double-ok")
    assert run(chain, stack).output("double") == 6


def test_a_step_starts_as_soon_as_its_inputs_are_ready(two_workers):
    """``opens`` becomes ready while ``waits_for`` still runs: it must not wait for it."""
    summary = run(start_when_ready, two_workers)
    assert summary.output("waits_for") is True


def test_dependents_of_a_failed_step_are_skipped_at_once(two_workers):
    """Not when the rest of the run is done: ``provision run`` shows the skip as it happens."""

    def on_event(kind, node, detail):
        if (kind, node) == ("skipped", "after"):
            (Path(os.environ[MARKERS]) / "after-skipped").write_text("")

    summary = run_pipeline(skip_at_once, two_workers, {}, on_event=on_event, raise_on_failure=False)
    assert summary.steps == {"first_failure": "failed", "after": "skipped", "waits_for": "succeeded"}
    assert summary.output("waits_for") is True


# --- what a step logged, when its output is reused ----------------------------------------------------------------

@step
def scored(items: list) -> float:
    _ran("scored")
    get_step_context().log_metadata(rows=len(items))
    get_step_context().log_metadata(run=True, accuracy=0.75)
    return 0.75


@pipeline
def evaluated(n: int = 3):
    scored(numbers(n=n))


def test_a_cached_step_brings_the_metadata_it_logged_for_itself_and_for_its_run(stack):
    one = run(evaluated, stack)
    two = run(evaluated, stack)
    assert two.steps == {"numbers": "cached", "scored": "cached"} and ran("scored") == 1
    assert one.metadata == two.metadata == {"accuracy": 0.75}
    assert MetadataStore(stack).run(two.run_id)["metadata"] == {"accuracy": 0.75}
    assert steps(stack, two.run_id)["scored"]["metadata"] == steps(stack, one.run_id)["scored"]["metadata"] == {
        "rows": 3}
    assert steps(stack, two.run_id)["numbers"]["metadata"] == {}  # logged nothing: nothing copied


def test_a_resumed_run_brings_the_metadata_its_reused_steps_logged(stack):
    failed = run(chain, stack)  # double fails: its gate is closed
    assert failed.steps["double"] == "failed"
    open_gate("double-ok")
    resumed = run(chain, stack, resume=failed.run_id, cache=False)
    assert resumed.steps == {"numbers": "cached", "total": "cached", "double": "succeeded"}
    assert steps(stack, resumed.run_id)["total"]["metadata"] == {"items": 3}


def test_a_steps_start_is_stamped_after_the_workers_warmed_up(stack, monkeypatch):
    warmed_at = []
    monkeypatch.setattr(LocalOrchestrator, "warm_up",
                        lambda self, functions: (time.sleep(0.3), warmed_at.append(time.time())))
    one = run(evaluated, stack)
    assert warmed_at and steps(stack, one.run_id)["numbers"]["started"] >= warmed_at[0]
