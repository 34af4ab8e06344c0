"""A real run's DAG as `provision runs show` draws it, failed steps with their inputs."""

import pytest

from tests.runtime.conftest import PIPELINES
from zenprovision import graphs
from zenprovision.runtime.metadata import MetadataStore


@pytest.fixture
def markers(tmp_path, monkeypatch):
    folder = tmp_path / "markers"  # no "fixed" marker: the step `fragile` fails
    folder.mkdir()
    monkeypatch.setenv("ZP_TEST_MARKERS", str(folder))
    return folder


def test_a_failed_run_draws_the_failed_step_below_what_it_read(local_stack, cli, markers):
    assert cli("run", f"{PIPELINES / 'shapes.py'}:breaking", "--stack", local_stack).code == 1
    run = MetadataStore(local_stack).runs()[0]
    graph = graphs.run_graph(MetadataStore(local_stack).run(run["id"]))
    assert ("source", "fragile") in graph.edges
    shown = cli("runs", "show", run["id"])
    assert "✗ failed" in shown.out and "← source" in shown.out and "- skipped" in shown.out
