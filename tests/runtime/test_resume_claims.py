"""A run is resumed once: a succeeded run has nothing to resume, a resumed one points at its successor,
and of two resumes at once only one goes on."""

import threading
import time

import pytest

from zenprovision.errors import InputError
from zenprovision.runtime.metadata import MetadataStore


@pytest.fixture
def failed_run(home):
    store = MetadataStore("rt")
    store.start_run("old", "p", "p.py", "rt", {}, None)
    store.end_run("old", "failed", "ValueError: x")
    yield store
    store.close()


def test_a_failed_run_is_resumed_once(failed_run):
    failed_run.resuming("old", "new")
    with pytest.raises(InputError, match="already resumed by run new") as refused:
        failed_run.resuming("old", "newer")
    assert "--resume new" in refused.value.hint
    assert failed_run.run("old")["resumed_by"] == "new"


def test_a_succeeded_run_has_nothing_to_resume(home):
    store = MetadataStore("rt")
    store.start_run("done", "p", "p.py", "rt", {}, None)
    store.end_run("done", "succeeded")
    with pytest.raises(InputError, match="succeeded: there is nothing to resume"):
        store.resuming("done", "new")
    assert store.run("done")["resumed_by"] is None
    store.close()


def test_of_two_resumes_at_once_one_goes_on(failed_run):
    outcome: list[str] = []

    def second() -> None:  # another command: its own connection
        other = MetadataStore("rt")
        try:
            other.resuming("old", "second")
            outcome.append("resumed")
        except InputError as exc:
            outcome.append(exc.message)
        finally:
            other.close()

    with failed_run.transaction():
        failed_run.resuming("old", "first")
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.3)  # the second has read the run by now, unless it waits for the first to commit
    racer.join(30)
    assert outcome == ["run old was already resumed by run first"]
    assert failed_run.run("old")["resumed_by"] == "first"
