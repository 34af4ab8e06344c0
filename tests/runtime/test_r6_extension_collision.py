"""r6 (second reader of p15c): with no folder per step, a step's data file is ``<step><ext>``,
so two steps of one run can name the same file when a registered materializer's extension is
empty: step ``out.json`` stored by it and step ``out`` stored as JSON both write
``runs/<run>/out.json``. Built-in extensions cannot meet this way (a name may not start with
'.', and each is one suffix). The sha256 check keeps it from being a misread, but the run
fails (or a later cache hit does) for nothing the user did wrong; the earlier layout kept the
two apart in their own folders."""

from __future__ import annotations

from zenprovision import pipeline, step
from zenprovision.runtime import materializers


class Raw(bytes):
    """A blob a plugin stores as is, with no extension of its own."""


class RawMaterializer(materializers.Materializer):
    name, extension = "raw", ""

    def handles(self, value):
        return isinstance(value, Raw)

    def dumps(self, value):
        return bytes(value)

    def loads(self, data):
        return Raw(data)


@step(name="out")
def as_json() -> dict:
    return {"from": "out"}


@step(name="out.json")
def as_raw() -> Raw:
    return Raw(b"raw bytes of out.json")


@pipeline
def neighbours():
    as_json()
    as_raw()


def test_two_steps_never_share_a_data_file(local_stack, home, monkeypatch):
    monkeypatch.setattr(materializers, "_REGISTRY", list(materializers._REGISTRY))
    materializers.register_materializer(RawMaterializer())
    run = neighbours.run(stack=local_stack, cache=False)
    # main: one of the two raises MaterializerError (sha256 mismatch): out.json holds the other's bytes
    assert run.output("out") == {"from": "out"}
    assert run.output("out.json") == b"raw bytes of out.json"
