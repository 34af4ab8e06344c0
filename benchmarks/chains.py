"""Trivial pipelines for benchmarks/pipeline_overhead.py."""

from zenprovision import pipeline, step


@step
def start() -> int:
    return 0


@step
def inc(x: int) -> int:
    return x + 1


@step
def total(*parts: int) -> int:
    return sum(parts)


def _chain(length: int) -> None:
    value = start()
    for _ in range(length - 1):
        value = inc(value)


@pipeline
def chain10():
    _chain(10)


@pipeline
def chain40():
    _chain(40)


@pipeline
def fanout16():
    root = start()
    total(*[inc(root) for _ in range(16)])
