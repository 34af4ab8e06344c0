"""The embedded engine's state holds dill-pickled providers: a replaced one is never loaded (issue 12, item 10)."""

from __future__ import annotations

import base64
import json
import os
import pickle

import pytest

from zenprovision.engines.embedded import state as state_store
from zenprovision.errors import CorruptFileError


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_replaced_provider_blob_is_refused_before_it_is_unpickled(home, cli, fixture_recipes, tmp_path):
    deployed = cli("recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 's1'}", "-c", "files=a", "--yes")
    assert deployed.code == 0, deployed.err
    path = home / "state" / "s1.json"
    data = json.loads(path.read_text())
    assert data["version"] == 2 and data["provider_sha256"]
    marker = tmp_path / "pwned"
    data["resources"][0]["provider"] = base64.b64encode(pickle.dumps(_Payload(str(marker)))).decode()
    path.write_text(json.dumps(data))
    result = cli("destroy", "s1", "--yes")
    assert result.code == 2
    assert "does not match the sha256 recorded when it was saved" in result.err
    assert not marker.exists()
    assert (tmp_path / "s1" / "a").exists()  # nothing was destroyed either


def test_state_written_before_hashes_loads_and_gains_them(home):
    state = state_store.StackState(stack="old", resources=[state_store.ResourceState(
        urn="urn:a", type="t", name="a", id="1", provider="YmxvYg==", inputs={}, outputs={})])
    state_store.save(state)
    data = json.loads(state_store.state_path("old").read_text())
    data.pop("provider_sha256")
    data["version"] = 1
    state_store.state_path("old").write_text(json.dumps(data))
    loaded = state_store.load("old")
    assert loaded.resources[0].provider == "YmxvYg=="
    state_store.save(loaded)
    assert json.loads(state_store.state_path("old").read_text())["version"] == 2
    data = json.loads(state_store.state_path("old").read_text())
    data["pending"] = [{"op": "create", "urn": "urn:b", "provider": "ZXZpbA=="}]
    state_store.state_path("old").write_text(json.dumps(data))
    with pytest.raises(CorruptFileError, match="pending urn:b does not match"):
        state_store.load("old")
