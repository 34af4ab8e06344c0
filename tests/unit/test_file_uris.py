"""One rule for ``file://`` URIs of local folders: written percent-encoded (RFC 8089, as
``Path.as_uri()`` writes them), read back as the very folder they were written for, whether
percent-encoded or, as stacks deployed on 2026-12-02 recorded them, ``file://`` and the path as
it is. A URI that reads both ways names the folder that exists; if both do, it is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zenprovision.blocks.local import FolderProvider
from zenprovision.errors import ArtifactStoreError
from zenprovision.file_uris import local_path
from zenprovision.runtime import flavors
from zenprovision.stacks import exports, store
from zenprovision.stacks.config import StackConfig

# A space (macOS's Application Support), "%20" itself in a folder's name, '#', non-ASCII, a lone '%'.
NAMES = ["Application Support", "100%20off", "x#y", "café", "50%", "it's 100% $(x)?", "plain"]


def _config(path: str) -> StackConfig:
    return StackConfig.model_validate({
        "name": "dev", "recipe": "local", "engine": "embedded", "created_at": "2026-12-02T00:00:00Z",
        "components": {"artifact_store": {"flavor": "local", "config": {"path": path}},
                       "orchestrator": {"flavor": "local", "config": {"workers": 1}},
                       "model_server": {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:1"}}}})


def _lands_in(uri: str, folder: Path, tmp_path: Path) -> None:
    """A store of ``uri`` writes in ``folder`` and nowhere else; the exports name ``folder``."""
    artifacts = flavors.build("artifact_store", "local", {"path": uri})
    artifacts.check()
    artifacts.write_bytes("runs/r1/step.json", b"1")
    assert (folder / "runs" / "r1" / "step.json").read_bytes() == b"1"
    assert Path(artifacts.root) == folder and list(tmp_path.iterdir()) == [folder]
    assert artifacts.uri("runs/r1/step.json") == (folder / "runs" / "r1" / "step.json").as_uri()
    config = _config(uri)
    assert Path(exports.to_zenml(config)[0]["components"]["artifact_store"]["configuration"]["path"]) == folder
    assert Path(exports.to_metaflow(config)["METAFLOW_DATASTORE_SYSROOT_LOCAL"]) == folder
    assert exports.artifact_uri(config) == folder.as_uri()


@pytest.mark.parametrize("name", NAMES)
def test_a_percent_encoded_uri_is_the_folder_it_encodes(tmp_path, name):
    folder = tmp_path / name  # not made yet: the check makes it
    _lands_in(folder.as_uri(), folder, tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_a_uri_holding_the_path_as_it_is_is_that_folder(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()  # the stack made it when it recorded the URI
    _lands_in(f"file://{folder}", folder, tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_the_local_stack_records_the_uri_every_reader_takes_for_its_folder(tmp_path, name):
    folder = tmp_path / name
    uri = FolderProvider().create({"path": str(folder), "force_destroy": True, "uri": None}).outs["uri"]
    assert uri == folder.as_uri()
    _lands_in(uri, folder, tmp_path)


def test_localhost_is_this_machine_and_a_plain_path_is_taken_as_it_is(tmp_path):
    folder = tmp_path / "a b%20c"
    assert local_path("file://localhost" + folder.as_uri().removeprefix("file://")) == str(folder)
    assert local_path(str(folder)) == str(folder)  # a path, not a URI: never decoded


def test_a_uri_that_reads_as_two_existing_folders_is_refused_and_nothing_is_written(tmp_path):
    spaced, literal = tmp_path / "a b", tmp_path / "a%20b"
    spaced.mkdir()
    literal.mkdir()
    with pytest.raises(ArtifactStoreError) as refused:
        flavors.build("artifact_store", "local", {"path": spaced.as_uri()}).check()
    message = str(refused.value)
    assert refused.value.exit_code == 2 and "\n" not in message
    assert repr(str(spaced)) in message and repr(str(literal)) in message and refused.value.hint
    assert list(spaced.iterdir()) == [] and list(literal.iterdir()) == []


def test_the_cli_refuses_an_export_of_a_uri_that_reads_as_two_existing_folders(home, cli, tmp_path):
    (tmp_path / "a b").mkdir()
    (tmp_path / "a%20b").mkdir()
    store.save(_config((tmp_path / "a b").as_uri()))
    result = cli("output", "dev", "--format", "zenml")
    assert result.code == 2 and "names two folders" in result.err
    assert result.out == ""
