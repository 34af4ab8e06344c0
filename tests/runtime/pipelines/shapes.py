"""Pipelines that exercise the scheduler: fan-out, retries, failures, slow steps."""

import os
import tempfile
import time
from pathlib import Path

from zenprovision import Secret, get_step_context, pipeline, step

MARKERS = Path(os.environ.get("ZP_TEST_MARKERS") or tempfile.gettempdir())


@step
def source(n: int = 4) -> list:
    return list(range(n))


@step
def work(items: list, index: int = 0, seconds: float = 0.0) -> dict:
    started = time.time()
    time.sleep(seconds)
    return {"pid": os.getpid(), "start": started, "end": time.time(), "value": items[index] * 10}


@step
def gather(a: dict, b: dict, c: dict, d: dict) -> list:
    return [a["value"], b["value"], c["value"], d["value"]]


@pipeline
def fanout(seconds: float = 0.3):
    items = source(n=4)
    outs = [work(items, index=i, seconds=seconds) for i in range(4)]
    gather(*outs)


@step(retries=2)
def flaky() -> str:
    counter = MARKERS / "flaky-attempts"
    attempts = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempts))
    if attempts < 2:
        raise ConnectionError("transient failure")
    return f"ok after {attempts}"


@pipeline
def retrying():
    flaky()


@step
def fragile(items: list) -> int:
    if not (MARKERS / "fixed").exists():
        raise ValueError("the data is bad")
    return sum(items)


@step
def after(total: int) -> int:
    return total + 1


@step
def independent() -> str:
    get_step_context().log_metadata(note="ran")
    return "fine"


@pipeline
def breaking():
    after(fragile(source(n=3)))
    independent()


@step
def slow(seconds: float = 30.0) -> str:
    temp = MARKERS / f".slow-started-{os.getpid()}"
    temp.write_text(str(os.getpid()))
    temp.rename(MARKERS / "slow-started")  # the test reads it: appear only when complete
    time.sleep(seconds)
    return "done"


@pipeline
def sleepy():
    slow()


@step
def unstorable() -> object:
    return (x for x in range(3))


@pipeline
def generator():
    unstorable()


@step(retries=1)
def dies() -> str:
    counter = MARKERS / "dies-attempts"
    attempts = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempts))
    if attempts == 1:
        os._exit(3)  # the worker process vanishes, as under the OOM killer
    return "second attempt"


@pipeline
def crashing():
    dies()
    independent()


@step
def leaks(token: str) -> str:
    raise PermissionError(f"login refused for token {token} (api_key=sk-live-123456)")


@pipeline
def leaky(token: Secret[str] = "s3cr3t-value-42"):
    leaks(token=token)
