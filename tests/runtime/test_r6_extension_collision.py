"""r6 (second reader of p15c): with no folder per step, a step's data file is ``<step><ext>``,
so two steps of one run can name the same file when a registered materializer's extension is
empty: step ``out.json`` stored by it and step ``out`` stored as JSON both write
``runs/<run>/out.json``. Built-in extensions cannot meet this way (a name may not start with
'.', and each is one suffix). The sha256 check keeps it from being a misread, but the run
fails (or a later cache hit does) for nothing the user did wrong; the earlier layout kept the
two apart in their own folders. Now a materializer's extension must be one suffix, which makes
`<step><ext>` unique per step."""

from __future__ import annotations

import pytest

from zenprovision import pipeline, step
from zenprovision.errors import PipelineDefinitionError
from zenprovision.runtime import materializers


class Raw(bytes):
    """A blob a plugin stores as is."""


class RawMaterializer(materializers.Materializer):
    name, extension = "raw", ".raw"

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


@pytest.mark.parametrize("extension", ["", ".tar.gz", "json", ".a/b"])
def test_a_materializer_whose_extension_could_make_two_steps_share_a_file_is_refused(monkeypatch, extension):
    """One suffix each: then `<step><ext>` can equal `<other step><other ext>` only for the same step."""
    monkeypatch.setattr(materializers, "_REGISTRY", list(materializers._REGISTRY))
    plugin = RawMaterializer()
    plugin.extension = extension
    with pytest.raises(PipelineDefinitionError, match="one suffix") as refused:
        materializers.register_materializer(plugin)
    assert refused.value.message == f"materializer 'raw' has extension {extension!r}"
    assert plugin not in materializers._REGISTRY


def test_steps_whose_names_hold_dots_keep_their_outputs_apart(local_stack, monkeypatch):
    monkeypatch.setattr(materializers, "_REGISTRY", list(materializers._REGISTRY))
    materializers.register_materializer(RawMaterializer())  # extension ".raw"
    run = neighbours.run(stack=local_stack, cache=False)
    assert run.output("out") == {"from": "out"}
    assert run.output("out.json") == b"raw bytes of out.json"
