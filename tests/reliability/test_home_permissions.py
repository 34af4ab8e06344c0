"""The home is private whatever the umask: folders 0700, files 0600 (issue 12, item 15)."""

from __future__ import annotations

import os
import stat

import pytest

from zenprovision import home as home_module
from zenprovision.atomic import atomic_write_text
from zenprovision.locks import StackLock


@pytest.fixture
def open_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_written_into_a_new_home_are_private_under_umask_000(home, open_umask):
    atomic_write_text(home / "stacks" / "dev.yaml", "name: dev\n")
    with StackLock("dev"):
        pass
    assert mode(home) == 0o700
    assert mode(home / "stacks") == 0o700 and mode(home / "locks") == 0o700
    assert mode(home / "stacks" / "dev.yaml") == 0o600
    assert mode(home / "locks" / "dev.lock") == 0o600


def test_an_existing_readable_home_is_tightened_on_the_next_write(home, open_umask):
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    atomic_write_text(home / "registry" / "dev.json", "{}")
    assert mode(home) == 0o700


def test_folders_outside_the_home_keep_their_modes(home, tmp_path, open_umask):
    outside = tmp_path / "elsewhere" / "sub"
    home_module.private_dir(outside)
    assert mode(outside) == 0o777  # the user's umask decides there
    assert not home.exists()


def test_a_file_where_a_folder_belongs_is_refused(home):
    home.mkdir()
    (home / "stacks").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        home_module.private_dir(home / "stacks")


def test_what_a_run_writes_into_the_home_is_private_under_umask_000(home, open_umask):
    """A run's metadata database (and SQLite's -wal and -shm beside it) and its run marker folder."""
    from zenprovision.locks import files
    from zenprovision.runtime.metadata import MetadataStore

    meta = MetadataStore("dev")
    try:
        meta.start_run("r1", "p", "p.py", "dev", {}, None)
        with files.FileRunLease("dev", "r1"):
            assert mode(home / "locks" / "dev.runs") == 0o700
        assert mode(home / "metadata") == 0o700
        written = sorted((home / "metadata").iterdir())
        assert [p.name for p in written][:1] == ["dev.db"] and {mode(p) for p in written} == {0o600}
    finally:
        meta.close()
