"""Artifact store on the local disk (flavor ``local``), config ``{path: file:///...}``."""

from __future__ import annotations

import os
import uuid
from typing import Any

from zenprovision.runtime.artifact_stores.base import BaseArtifactStore


class LocalArtifactStore(BaseArtifactStore):
    flavor = "local"

    def _filesystem(self) -> tuple[Any, str]:
        from fsspec.implementations.local import LocalFileSystem

        fs = LocalFileSystem(auto_mkdir=True)
        return fs, fs._strip_protocol(self.config["path"])

    @property
    def endpoint(self) -> str:
        return str(self.config.get("path"))

    def write_bytes(self, relpath: str, data: bytes, durable: bool = True) -> None:
        """A local file is visible while being written: write a temp file, fsync, rename.

        ``durable=False`` skips the fsync, for a file whose loss a reader survives: a step's
        ``meta.json``, written after its fsynced data (docs/reliability.md, one sync per step).
        """
        target = self.path(relpath)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temp = f"{target}.tmp-{uuid.uuid4().hex}"
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise
