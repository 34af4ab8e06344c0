"""The code a step runs is the code its cache key hashed: the pipeline file is read afresh."""

from __future__ import annotations

import inspect
import os
import sys

from zenprovision.runtime.loader import load_pipeline

PIPELINE = '''from zenprovision import pipeline, step

@step
def first() -> int:
    return {value}

@pipeline
def chain():
    first()
'''


def test_an_edit_of_the_same_length_in_the_same_second_runs_the_new_code(tmp_path, monkeypatch):
    """A ``__pycache__`` copy is trusted by the file's mtime and size: the old code would run
    under the new code's cache key, and the cache would serve its output from then on."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as on a user's machine
    path = tmp_path / "edited.py"
    path.write_text(PIPELINE.format(value=1))
    stamp = os.stat(path).st_mtime_ns
    first = load_pipeline(str(path)).build().nodes["first"].step
    assert first.func() == 1
    old_key = first.source_hash
    path.write_text(PIPELINE.format(value=5))
    os.utime(path, ns=(stamp, stamp))  # the same second, the same size: a bytecode cache looks fresh
    again = load_pipeline(str(path)).build().nodes["first"].step
    assert again.source_hash != old_key
    assert again.func() == 5  # the hashed code is the code that runs


def test_a_page_break_or_a_latin_1_file_still_keys_each_edit_apart(tmp_path):
    """inspect reads the lines the compiler read: a form feed is not a line end, and a file's
    coding declaration is honoured, so two different bodies never share a cache key."""
    keys = set()
    for body in ("return 2  # é", "return 3  # é"):
        path = tmp_path / f"paged_{len(keys)}.py"
        text = "# -*- coding: latin-1 -*-\n\x0c\n" + PIPELINE.format(value=body.split()[1]).replace(
            "return " + body.split()[1], body)
        path.write_bytes(text.encode("latin-1"))
        step = load_pipeline(str(path)).build().nodes["first"].step
        assert "def first" in inspect.getsource(step.func)
        assert body in inspect.getsource(step.func)
        keys.add(step.source_hash)
    assert len(keys) == 2
