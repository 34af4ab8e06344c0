"""Crash-safe writes, as mutation testing showed they need pinning down: the file holds exactly what was
written, private whatever the umask, through a hidden temp file that is synced before it replaces the
old one and is gone again if the write fails; the folder is synced after the rename so the rename
itself survives a crash. No crash is simulated: the syncs are observed by recording ``os.fsync``.

The one mutant left alive is equivalent: ``encode("UTF-8")`` for ``encode("utf-8")``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zenprovision import atomic
from zenprovision.atomic import atomic_write_bytes, atomic_write_text


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """A umask that lets everyone read: what the write leaves must not depend on it."""
    old = os.umask(0o000)
    yield
    os.umask(old)


def test_text_is_written_as_utf8_and_private_whatever_the_umask(home, open_umask):
    path = home / "stacks" / "dev.yaml"
    atomic_write_text(path, "name: dév ✓\n")
    assert path.read_bytes() == "name: dév ✓\n".encode()
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700  # a folder it made inside the home


def test_a_given_mode_is_the_files_mode(home, open_umask):
    path = home / "settings.json"
    atomic_write_text(path, "{}", mode=0o644)
    assert mode_of(path) == 0o644
    atomic_write_bytes(path, b"[]", mode=0o640)
    assert mode_of(path) == 0o640 and path.read_bytes() == b"[]"


def test_a_write_replaces_the_old_content_and_leaves_no_temp_file(home):
    path = home / "state" / "dev.json"
    atomic_write_bytes(path, b"old, and longer than the new one")
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["dev.json"]


def test_the_temp_file_is_hidden_beside_the_target_until_the_rename(home, monkeypatch):
    """Listings of a home skip names starting with '.': a write in flight, or one a crash left, is no stack."""
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((Path(src), Path(dst), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    path = home / "stacks" / "dev.yaml"
    atomic_write_text(path, "x: 1\n")
    (temp, target, content), = seen
    assert target == path and temp.parent == path.parent
    assert temp.name.startswith(".dev.yaml.tmp-") and f"-{os.getpid()}-" in temp.name  # whose it is: stale-temp clean-up
    assert content == b"x: 1\n"  # whole before it takes the name


def test_the_data_is_synced_before_the_rename_and_the_folder_after(home, monkeypatch):
    """Both syncs: the data reaches the disk before the rename makes it the file, the rename reaches
    it before the write returns. At the data's sync the whole content is in the file (flushed)."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        info = os.fstat(fd)
        events.append(("dir" if stat.S_ISDIR(info.st_mode) else "file", info.st_size))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", None))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    path = home / "registry" / "dev.json"
    data = b"y" * 100  # less than a write buffer: unflushed, it would not be in the file yet
    atomic_write_bytes(path, data)
    assert events[0] == ("file", len(data))
    assert events[1] == ("replace", None)
    assert events[2][0] == "dir"
    assert len(events) == 3


def test_the_folder_sync_opens_the_folder_itself_and_closes_it(tmp_path, monkeypatch):
    opened, closed = [], []
    real_open, real_close = os.open, os.close

    def record_open(path, flags, *args):
        fd = real_open(path, flags, *args)
        opened.append((Path(path), flags, fd))
        return fd

    def record_close(fd):
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(atomic.os, "open", record_open)
    monkeypatch.setattr(atomic.os, "close", record_close)
    atomic._fsync_dir(tmp_path)
    (path, flags, fd), = opened
    assert path == tmp_path
    assert flags == os.O_RDONLY
    assert closed == [fd]


def test_a_folder_that_cannot_be_opened_is_not_an_error(tmp_path):
    atomic._fsync_dir(tmp_path / "gone")  # nothing to sync, nothing raised


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(home, monkeypatch):
    path = home / "stacks" / "dev.yaml"
    atomic_write_text(path, "old\n")

    def replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["dev.yaml"]


def test_a_write_interrupted_by_ctrl_c_leaves_no_temp_file(home, monkeypatch):
    path = home / "stacks" / "dev.yaml"

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new\n")
    assert list(path.parent.iterdir()) == []


def test_the_target_being_a_folder_fails_the_write_and_cleans_up(home):
    path = home / "stacks" / "dev.yaml"
    path.mkdir(parents=True)
    (path / "keep").write_text("x")
    with pytest.raises(OSError):
        atomic_write_text(path, "new\n")
    assert sorted(p.name for p in path.parent.iterdir()) == ["dev.yaml"]


def test_a_ctrl_c_just_after_the_rename_is_what_the_write_raises(home, monkeypatch):
    """The temp file is gone by then (it is the file): cleaning it up must not replace the Ctrl-C by another error."""
    real_replace = os.replace

    def replace_then_interrupted(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", replace_then_interrupted)
    path = home / "stacks" / "dev.yaml"
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["dev.yaml"]
