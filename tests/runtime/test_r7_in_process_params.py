"""`--in-process`: each step gets its own copy of its constant parameters, as a worker does (its
task is unpickled). Before, a step was handed the pipeline's own objects: a step that changed a
list or dict it was given changed it for its next attempt and for every other step given the
same constant, and those steps' outputs were recorded under a cache key computed from the
unchanged value, so a later run (on workers too) reused an output its inputs never produce."""

from zenprovision import pipeline, step
from zenprovision.runtime.metadata import MetadataStore

CALLS: list[list] = []


@step(retries=1)
def appends(xs: list) -> list:
    CALLS.append(list(xs))
    xs.append("changed")
    if len(CALLS) == 1:
        raise ConnectionError("transient")
    return xs


@step
def reads(xs: list) -> list:
    return list(xs)


@pipeline
def sharing():
    config = ["original"]
    appends(xs=config)
    reads(xs=config)


def test_a_step_changing_its_parameter_changes_it_for_no_other_step_nor_its_own_retry(local_stack):
    CALLS.clear()
    summary = sharing.run(stack=local_stack, cache=False, in_process=True)
    assert CALLS == [["original"], ["original"]]  # before: the retry got ["original", "changed"]
    assert summary.output("appends") == ["original", "changed"]
    assert summary.output("reads") == ["original"]  # before: ["original", "changed"]
    on_workers = sharing.run(stack=local_stack)  # a cache hit must be what the step makes of ["original"]
    assert on_workers.output("reads") == ["original"]
    assert MetadataStore(local_stack).run(summary.run_id)["status"] == "succeeded"
