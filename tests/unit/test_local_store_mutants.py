"""The local artifact store's folder rules, as mutation testing showed they need pinning down: which
folder a path or ``file://`` URI names (``~``, relative paths, trailing slashes, ``localhost``, a URI
holding the path as it is, one whose decoding holds a NUL), the check's one-line error, and writes
that make their folders only when missing (issue 15), fsync unless told not to and leave no temp file.

Mutants left alive are equivalent here:
- ``quote_from_bytes(..., safe="/")`` without ``safe`` or with ``safe="XX/XX"``: "/" is its default, X is never quoted.
- ``_filesystem``'s root and ``auto_mkdir``: on POSIX the store's root is ``local_path``'s (the
  ``root`` property), and that filesystem only lists and removes; the ``os.sep`` branches are Windows'.
- ``uri``'s ``super().uri`` branch: Windows only.
- ``check``: the probe's bytes (b"OK"), its unused ``timeout`` default, its file mode when the
  retry after making the folder is created without one (the probe is removed at once), and
  ``remove_stale_temps`` without ``PROBE`` (it then also removes other temp files of dead writers
  at the root, stale anyway).
- hint texts in capitals or wrapped in ``XX`` (present, not worded, in what is asserted).
- ``_make_folders``'s ``exist_ok``: it matters only when another writer makes the folder between this
  one's failed open and its ``makedirs``, a race no deterministic test reproduces.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zenprovision.errors import ArtifactStoreError
from zenprovision.runtime import flavors
from zenprovision.runtime.artifact_stores import local
from zenprovision.runtime.artifact_stores.local import local_path


def test_a_home_relative_path_is_under_the_users_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local_path("~/zp/artifacts") == f"{tmp_path}/zp/artifacts"
    assert local_path("file://~/zp") == f"{tmp_path}/zp"


@pytest.mark.parametrize(("given", "folder"), [("data", "data"), ("./data", "data"), ("./a/b/", "a/b"),
                                               (".", ""), ("local:data", "data"), ("file:./data", "data")])
def test_a_relative_path_is_under_the_current_folder(monkeypatch, tmp_path, given, folder):
    monkeypatch.chdir(tmp_path)
    assert local_path(given) == f"{tmp_path}/{folder}".rstrip("/")


@pytest.mark.parametrize(("given", "path"), [("/srv/zp/", "/srv/zp"), ("/", "/"), ("file:///", "/"),
                                             ("file:///srv/zp//", "/srv/zp"), ("local:///srv", "/srv")])
def test_trailing_slashes_go_but_the_root_stays(given, path):
    assert local_path(given) == path


def test_only_a_file_uri_names_this_machine_localhost(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert local_path("file://localhost/srv/zp") == "/srv/zp"
    assert local_path("local:localhost/zp") == f"{tmp_path}/localhost/zp"  # a relative folder named localhost
    assert local_path("file:localhost/zp") == f"{tmp_path}/localhost/zp"


def test_a_uri_that_holds_a_space_is_the_path_as_it_is_percent_signs_and_all(tmp_path):
    assert local_path(f"file://{tmp_path}/a b%20c") == f"{tmp_path}/a b%20c"


def test_a_path_that_is_no_uri_is_never_decoded(tmp_path):
    assert local_path(f"{tmp_path}/100%20off") == f"{tmp_path}/100%20off"
    assert local_path(f"{tmp_path}/100%20off/") == f"{tmp_path}/100%20off"


def test_a_uri_whose_decoding_holds_a_nul_is_the_path_as_it_is(tmp_path):
    assert local_path(f"file://{tmp_path}/a%00b") == f"{tmp_path}/a%00b"


def test_the_refusal_of_a_uri_naming_two_folders_quotes_the_uri(tmp_path):
    (tmp_path / "a b").mkdir()
    (tmp_path / "a%20b").mkdir()
    uri = (tmp_path / "a b").as_uri()
    with pytest.raises(ArtifactStoreError) as refused:
        local_path(uri)
    assert refused.value.message.startswith(f"artifact store path {uri} names two folders that both exist")


def store(path: str):
    return flavors.build("artifact_store", "local", {"path": path})


def test_the_check_makes_the_folder_and_leaves_nothing_in_it(tmp_path):
    folder = tmp_path / "new" / "artifacts"
    store(str(folder)).check()
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_the_check_of_a_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ArtifactStoreError) as caught:
        store(str(tmp_path / "file" / "artifacts")).check()
    assert caught.value.message.startswith(f"artifact store {tmp_path}/file/artifacts is unreachable: "
                                           "NotADirectoryError: ")
    assert "\n" not in caught.value.message and "provision output" in caught.value.hint


def test_a_write_makes_its_folders_and_leaves_the_file_only(tmp_path):
    artifacts = store(str(tmp_path / "artifacts"))
    artifacts.write_bytes("runs/r1/train/model.pkl", b"weights")
    folder = tmp_path / "artifacts" / "runs" / "r1" / "train"
    assert (folder / "model.pkl").read_bytes() == b"weights" and os.listdir(folder) == ["model.pkl"]
    artifacts.write_bytes("runs/r1/train/model.pkl", b"again")  # over the old one, in place
    assert (folder / "model.pkl").read_bytes() == b"again" and os.listdir(folder) == ["model.pkl"]


def test_a_write_is_synced_unless_told_its_loss_is_survivable(tmp_path, monkeypatch):
    artifacts = store(str(tmp_path))
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    artifacts.write_bytes("data.bin", b"1")
    assert len(synced) == 1
    artifacts.write_bytes("meta.json", b"{}", durable=False)
    assert len(synced) == 1
    assert Path(tmp_path / "meta.json").read_bytes() == b"{}"


def test_local_path_is_what_the_store_writes_to(tmp_path):
    folder = tmp_path / "Application Support"
    artifacts = store(folder.as_uri())
    artifacts.write_bytes("x", b"1")
    assert (folder / "x").read_bytes() == b"1" and local.local_path(folder.as_uri()) == str(folder)


def test_a_folder_name_ending_in_x_keeps_it():
    assert local_path("/srv/BOX/") == "/srv/BOX" and local_path("file:///srv/box_X") == "/srv/box_X"


def test_a_file_written_beside_another_and_a_check_of_a_folder_there_make_no_folders(tmp_path, monkeypatch):
    """Issue 15: a step's files go beside each other; making their folder again cost every write."""
    artifacts = store(str(tmp_path / "artifacts"))
    artifacts.write_bytes("runs/r1/data.bin", b"1")
    made: list[str] = []
    real_makedirs, real_mkdir = os.makedirs, os.mkdir
    monkeypatch.setattr(os, "makedirs", lambda path, *a, **k: (made.append(str(path)), real_makedirs(path, *a, **k)))
    monkeypatch.setattr(os, "mkdir", lambda path, *a, **k: (made.append(str(path)), real_mkdir(path, *a, **k)))
    artifacts.write_bytes("runs/r1/meta.json", b"{}", durable=False)
    artifacts.check()
    assert made == []
