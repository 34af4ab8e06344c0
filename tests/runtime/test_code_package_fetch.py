"""Where and how a remote step's code package is extracted: this user's own folder in the temp
folder (shared by every user of the machine), and on any Python the project supports."""

import hashlib
import io
import os
import tarfile
import tempfile

import pytest

from zenprovision.runtime import code_package


class Store:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read_bytes(self, _path: str) -> bytes:
        return self.data


@pytest.fixture
def temp(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def package(tmp_path, text: str = "X = 1\n") -> tuple[Store, str]:
    root = tmp_path / "code"
    root.mkdir(exist_ok=True)
    (root / "steps.py").write_text(text)
    data = code_package.build(root)
    return Store(data), f"code/{hashlib.sha256(data).hexdigest()}.tar.gz"


def test_code_another_user_left_in_the_temp_folder_is_never_taken_for_the_package(tmp_path, temp):
    store, path = package(tmp_path)
    name = path.removeprefix("code/").removesuffix(".tar.gz")
    for planted in (temp / "zenprovision-code" / name, temp / f"zenprovision-code-{os.getuid()}" / name):
        planted.mkdir(parents=True)
        (planted / "steps.py").write_text("X = 'planted'\n")
        (planted / ".complete").write_text("")
    os.chmod(temp / f"zenprovision-code-{os.getuid()}", 0o777)  # ours by name, but anyone could write there
    target = code_package.fetch(store, path)
    assert (target / "steps.py").read_text() == "X = 1\n"
    assert not target.parent.stat().st_mode & 0o077


def test_the_cache_is_private_to_its_user_and_reused(tmp_path, temp):
    store, path = package(tmp_path)
    first = code_package.fetch(store, path)
    assert first.parent == temp / f"zenprovision-code-{os.getuid()}"
    assert first.parent.stat().st_mode & 0o777 == 0o700
    assert code_package.fetch(Store(b"not read again"), path) == first


_has_filter = hasattr(tarfile, "data_filter")  # as this Python has it, before a test takes it away


@pytest.fixture
def python_without_the_data_filter(monkeypatch):
    """tarfile as on Python before 3.10.12 and 3.11.4 (Debian 12's 3.11.2): no ``filter`` argument."""
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    extractall = tarfile.TarFile.extractall

    def old_extractall(self, path=".", members=None, *, numeric_owner=False, **kwargs):
        if kwargs:
            raise TypeError(f"TarFile.extractall() got an unexpected keyword argument {next(iter(kwargs))!r}")
        if not _has_filter:
            return extractall(self, path, members, numeric_owner=numeric_owner)
        return extractall(self, path, members, numeric_owner=numeric_owner, filter="fully_trusted")

    monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)


def test_a_package_is_extracted_on_a_python_without_the_data_filter(tmp_path, temp, python_without_the_data_filter):
    store, path = package(tmp_path)
    assert (code_package.fetch(store, path) / "steps.py").read_text() == "X = 1\n"


@pytest.mark.parametrize("name", ["../escaped.py", "/abs/escaped.py", "link"])
def test_without_the_data_filter_only_files_inside_the_package_are_extracted(tmp_path, temp, name,
                                                                             python_without_the_data_filter):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        if name == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(info, io.BytesIO(b""))
    with pytest.raises(ValueError, match="not a file inside the package"):
        code_package.fetch(Store(buffer.getvalue()), "code/bad.tar.gz")
    assert not (tmp_path / "escaped.py").exists()
