"""The local stack's folder URI is what the artifact store and the exports read back as that folder."""

from __future__ import annotations

from pathlib import Path

from zenprovision.blocks.local import FolderProvider
from zenprovision.runtime import flavors
from zenprovision.stacks import exports
from zenprovision.stacks.config import StackConfig

ODD = "Application Support/it's 100% $(x) é"  # macOS's default home has a space


def _config(uri: str) -> StackConfig:
    return StackConfig.model_validate({
        "name": "dev", "recipe": "local", "engine": "embedded", "created_at": "2026-12-02T00:00:00Z",
        "components": {"artifact_store": {"flavor": "local", "config": {"path": uri}},
                       "orchestrator": {"flavor": "local", "config": {"workers": 1}},
                       "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:1"}}}})


def test_artifacts_of_a_home_with_a_space_stay_in_the_folder_the_stack_made(tmp_path):
    folder = tmp_path / ODD / "artifacts"
    made = FolderProvider().create({"path": str(folder), "force_destroy": True, "uri": None})
    uri = made.outs["uri"]
    store = flavors.build("artifact_store", "local", {"path": uri})
    assert Path(store.root) == folder
    config = _config(uri)
    assert Path(exports.to_zenml(config)[0]["components"]["artifact_store"]["configuration"]["path"]) == folder
    assert Path(exports.to_metaflow(config)["METAFLOW_DATASTORE_SYSROOT_LOCAL"]) == folder


def test_a_redeploy_replaces_the_uri_with_the_path_as_it_is_an_earlier_version_recorded(tmp_path):
    folder = tmp_path / ODD
    folder.mkdir(parents=True)
    olds = {"path": str(folder), "force_destroy": False, "uri": f"file://{folder}"}  # as 2026-12-02 wrote it
    assert Path(flavors.build("artifact_store", "local", {"path": olds["uri"]}).root) == folder  # read as is meanwhile
    news = {"path": str(folder), "force_destroy": False, "uri": None}
    provider = FolderProvider()
    assert provider.diff(str(folder), olds, news).changes
    updated = provider.update(str(folder), olds, news).outs["uri"]
    assert updated == folder.as_uri()
    assert Path(flavors.build("artifact_store", "local", {"path": updated}).root) == folder
    current = {**olds, "uri": updated}
    assert not provider.diff(str(folder), current, news).changes
