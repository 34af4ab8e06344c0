"""A write whose file is already in place is not reported as failed because its folder could not
be synced: silently where the file system cannot sync folders (EINVAL), with one warning line on a
disk error (EIO). A failure before the rename still fails the write and leaves the old file."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from zenprovision.atomic import atomic_write_text


def failing_fsync(monkeypatch, code: int, folders: bool) -> None:
    """``os.fsync`` raising ``code`` for a folder's descriptor (``folders``) or a file's."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode) == folders:
            raise OSError(code, os.strerror(code))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def temps(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOTSUP])
def test_a_file_system_that_cannot_sync_folders_does_not_fail_a_write(home, monkeypatch, capsys, code):
    path = home / "stacks" / "dev.yaml"
    atomic_write_text(path, "old\n")
    failing_fsync(monkeypatch, code, folders=True)
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n" and temps(path.parent) == []
    assert capsys.readouterr().err == ""


def test_a_disk_error_syncing_the_folder_is_one_warning_and_the_write_stands(home, monkeypatch, capsys):
    path = home / "stacks" / "dev.yaml"
    atomic_write_text(path, "old\n")
    failing_fsync(monkeypatch, errno.EIO, folders=True)
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: ") and str(path.parent) in err and "power cut" in err


def test_a_failed_sync_of_the_file_itself_still_fails_the_write_and_keeps_the_old_file(home, monkeypatch):
    path = home / "stacks" / "dev.yaml"
    atomic_write_text(path, "old\n")
    failing_fsync(monkeypatch, errno.EIO, folders=False)
    with pytest.raises(OSError) as caught:
        atomic_write_text(path, "new\n")
    assert caught.value.errno == errno.EIO
    assert path.read_text() == "old\n" and temps(path.parent) == []
