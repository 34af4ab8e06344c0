"""Artifact store on the local disk (flavor ``local``), config ``{path: file:///...}``."""

from __future__ import annotations

import os
from typing import Any

from zenprovision.runtime.artifact_stores.base import BaseArtifactStore


class LocalArtifactStore(BaseArtifactStore):
    flavor = "local"
    atomic_put = False  # a local write is visible while in progress: write, fsync, rename

    def _filesystem(self) -> tuple[Any, str]:
        from fsspec.implementations.local import LocalFileSystem

        fs = LocalFileSystem(auto_mkdir=True)
        return fs, fs._strip_protocol(self.config["path"])

    @property
    def endpoint(self) -> str:
        return str(self.config.get("path"))

    def write_bytes(self, relpath: str, data: bytes) -> None:
        target = self.path(relpath)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = f"{target}.tmp-{os.getpid()}"
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
