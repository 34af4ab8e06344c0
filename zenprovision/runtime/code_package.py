"""Code packages: the pipeline's folder as a content-addressed archive in the artifact store.

Remote steps fetch the code from there, as Metaflow does, so no image has to be rebuilt
for a code change. The archive is deterministic (sorted, no timestamps or owners), so the
same code always has the same address and is uploaded once.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from zenprovision.errors import InputError

MAX_BYTES = int(os.environ.get("ZENPROVISION_CODE_PACKAGE_LIMIT", 50 * 1024 * 1024))
ALWAYS_SKIPPED = [".git/", "__pycache__/", "*.pyc", ".venv/", "venv/", ".ipynb_checkpoints/"]


def _ignore_spec(root: Path):
    import pathspec

    lines = list(ALWAYS_SKIPPED)
    gitignore = root / ".gitignore"
    if gitignore.is_file():
        lines += gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def files(root: Path) -> list[Path]:
    """The files of ``root`` that go into the package, honouring its .gitignore."""
    spec = _ignore_spec(root)
    chosen = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix() + ("/" if path.is_dir() else "")
        if path.is_file() and not path.is_symlink() and not spec.match_file(relative):
            chosen.append(path)
    return chosen


def build(root: Path) -> bytes:
    """A deterministic tar.gz of the package; too large a folder is a clear error."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in files(root):
            total += path.stat().st_size
            if total > MAX_BYTES:
                raise InputError(
                    f"the code package of {root} is larger than {MAX_BYTES // (1024 * 1024)} MB",
                    hint="list data and large files in the folder's .gitignore, or set ZENPROVISION_CODE_PACKAGE_LIMIT",
                )
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
            archive.addfile(info, io.BytesIO(path.read_bytes()))
    # gzip writes a timestamp into its header: zero it, so equal code gives equal bytes
    data = bytearray(buffer.getvalue())
    data[4:8] = b"\0\0\0\0"
    return bytes(data)


def upload(store: Any, root: Path) -> str:
    """Put the package into the store once; returns its path in the store."""
    data = build(root)
    path = f"code/{hashlib.sha256(data).hexdigest()}.tar.gz"
    if not store.exists(path):
        store.write_bytes(path, data)
    return path


def fetch(store: Any, path: str) -> Path:
    """Extract a package into this user's cache folder on this machine (once per package)."""
    cache = _cache_dir()
    target = cache / Path(path).name.removesuffix(".tar.gz")
    if (target / ".complete").exists():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=cache))
    with tarfile.open(fileobj=io.BytesIO(store.read_bytes(path)), mode="r:gz") as archive:
        _extract(archive, staging)
    (staging / ".complete").write_text("")
    try:
        os.replace(staging, target)
    except OSError:  # another worker extracted it first
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return target


def _cache_dir() -> Path:
    """The folder of extracted packages: one per user in the temp folder, private.

    The temp folder is shared by every user of the machine: one folder for all would belong to
    whoever fetched first, the others could not write to it, and a package folder another user
    made there would be run as code. A folder of that name that is not ours alone (made by
    someone else, or writable by others) is not used: a fresh private one is, for this fetch.
    """
    folder = Path(tempfile.gettempdir()) / f"zenprovision-code-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return Path(tempfile.mkdtemp(prefix="zenprovision-code-"))
    return folder


def _extract(archive: tarfile.TarFile, folder: Path) -> None:
    """Extract with tarfile's ``data`` filter; on a Python without it (before 3.10.12, 3.11.4 and
    3.12: Debian 12's 3.11.2, for one) only what ``build`` writes is accepted: regular files at
    relative paths inside the package."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(folder, filter="data")
        return
    for member in archive.getmembers():
        name = Path(member.name)
        if not member.isfile() or name.is_absolute() or ".." in name.parts:
            raise ValueError(f"code package member {member.name!r} is not a file inside the package")
    archive.extractall(folder)
