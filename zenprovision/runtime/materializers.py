"""Materializers turn step outputs into bytes in the artifact store and back.

Tried in order, first match wins; users put their own in front with
``register_materializer``. Vendor libraries are imported only when a value needs them.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
from typing import Any

from zenprovision import settings
from zenprovision.errors import MaterializerError, PipelineDefinitionError


class Materializer:
    name = ""
    extension = ".bin"

    def runs_code(self, data: bytes) -> bool:
        """Whether loading ``data`` unpickles (and so may run code): refused under no_pickle."""
        return False

    def handles(self, value: Any) -> bool:
        raise NotImplementedError

    def dumps(self, value: Any) -> bytes:
        raise NotImplementedError

    def loads(self, data: bytes) -> Any:
        raise NotImplementedError


def _from_module(value: Any, prefix: str) -> bool:
    return type(value).__module__.split(".")[0] == prefix


_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    """Exactly the types JSON gives back: no dict or list subclasses (defaultdict, Counter)."""
    if type(value) in _PLAIN:
        return True
    if type(value) is list:
        return all(_plain(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    return False


class JSONMaterializer(Materializer):
    """Plain data that survives a JSON round trip unchanged (no tuples, str keys only)."""

    name, extension = "json", ".json"

    def handles(self, value: Any) -> bool:
        if not _plain(value):
            return False
        try:
            return json.loads(json.dumps(value, allow_nan=False)) == value
        except (TypeError, ValueError):
            return False

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


class BytesMaterializer(Materializer):
    name, extension = "bytes", ".bin"

    def handles(self, value: Any) -> bool:
        return isinstance(value, (bytes, bytearray))

    def dumps(self, value: Any) -> bytes:
        return bytes(value)

    def loads(self, data: bytes) -> Any:
        return data


class NumpyMaterializer(Materializer):
    name, extension = "numpy", ".npy"

    def handles(self, value: Any) -> bool:
        return _from_module(value, "numpy") and type(value).__name__ == "ndarray" and value.dtype != object

    def dumps(self, value: Any) -> bytes:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


class PandasMaterializer(Materializer):
    """DataFrames as parquet where pyarrow is installed, else pickled."""

    name, extension = "pandas", ".parquet"

    def handles(self, value: Any) -> bool:
        return _from_module(value, "pandas") and type(value).__name__ == "DataFrame"

    def dumps(self, value: Any) -> bytes:
        try:
            import pyarrow  # noqa: F401

            buffer = io.BytesIO()
            value.to_parquet(buffer)
            return b"PAR1" + buffer.getvalue()
        except ImportError:
            if settings.no_pickle():
                raise MaterializerError("DataFrames need pyarrow to be stored without pickle",
                                        hint="install pyarrow, or turn no_pickle off") from None
            return b"PKL1" + pickle.dumps(value)

    def runs_code(self, data: bytes) -> bool:
        return data[:4] != b"PAR1"

    def loads(self, data: bytes) -> Any:
        import pandas as pd

        if data[:4] == b"PAR1":
            return pd.read_parquet(io.BytesIO(data[4:]))
        return pickle.loads(data[4:])


class SklearnMaterializer(Materializer):
    """scikit-learn estimators through joblib, the format MLServer's sklearn runtime loads."""

    name, extension = "sklearn", ".joblib"

    def handles(self, value: Any) -> bool:
        if not _from_module(value, "sklearn") and "sklearn" not in str(type(value).__mro__):
            return False
        from sklearn.base import BaseEstimator

        return isinstance(value, BaseEstimator)

    def runs_code(self, data: bytes) -> bool:
        return True  # joblib files are pickles

    def dumps(self, value: Any) -> bytes:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(value, buffer)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        import joblib

        return joblib.load(io.BytesIO(data))


class PickleMaterializer(Materializer):
    """The fallback for anything picklable."""

    name, extension = "pickle", ".pkl"

    def handles(self, value: Any) -> bool:
        return not settings.no_pickle()

    def runs_code(self, data: bytes) -> bool:
        return True

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)


_REGISTRY: list[Materializer] = [
    JSONMaterializer(), BytesMaterializer(), NumpyMaterializer(), PandasMaterializer(),
    SklearnMaterializer(), PickleMaterializer(),
]


_EXTENSION = re.compile(r"^\.[A-Za-z0-9_-]{1,20}$")


def register_materializer(materializer: Materializer) -> None:
    """Put a materializer in front of the built-in ones.

    Its extension is one suffix (``.arrow``, not ``.tar.gz`` nor empty): a step's data file is
    ``<step><extension>`` beside the other steps', and step names may hold dots, so only single
    suffixes keep two steps of a run from ever naming the same file.
    """
    if not isinstance(materializer.extension, str) or not _EXTENSION.match(materializer.extension):
        raise PipelineDefinitionError(
            f"materializer {materializer.name!r} has extension {materializer.extension!r}",
            hint="give it one suffix of letters, digits, '_' or '-', such as '.arrow'")
    _REGISTRY[:] = [m for m in _REGISTRY if m.name != materializer.name]
    _REGISTRY.insert(0, materializer)


def by_name(name: str) -> Materializer:
    for materializer in _REGISTRY:
        if materializer.name == name:
            return materializer
    raise MaterializerError(f"no materializer named {name!r}", hint="register it before running")


def serialize(value: Any, where: str) -> tuple[Materializer, bytes]:
    """The first materializer that can store ``value``; ``where`` names the step output."""
    for materializer in _REGISTRY:
        if materializer.handles(value):
            try:
                data = materializer.dumps(value)
            except Exception as exc:
                raise MaterializerError(
                    f"{where}: cannot store a {type(value).__name__} with the "
                    f"{materializer.name} materializer: {exc}",
                    hint="return a picklable value or register a materializer for this type",
                ) from exc
            if materializer.runs_code(data) and settings.no_pickle():
                raise MaterializerError(
                    f"{where}: a {type(value).__name__} would be stored by the {materializer.name} materializer, "
                    "which pickles, and no_pickle is on",
                    hint="return plain data, bytes, numpy arrays or DataFrames (with pyarrow), "
                         "or turn no_pickle off if you trust who can write the store")
            return materializer, data
    hint = "no_pickle is on: return plain data, bytes or numpy arrays" if settings.no_pickle() else None
    raise MaterializerError(f"{where}: no materializer for {type(value).__name__}", hint=hint)


def load(meta: dict[str, Any], data: bytes, where: str) -> Any:
    """Load an artifact's bytes, but only if they are the bytes that were written.

    The sha256 recorded at write time is checked before any materializer sees the data,
    and pickle-based formats are refused when no_pickle is on.
    """
    if hashlib.sha256(data).hexdigest() != meta.get("hash"):
        raise MaterializerError(
            f"artifact {where} does not match the sha256 recorded when it was written; not loading it",
            hint="it was changed outside zenprovision: re-run the step that wrote it (--no-cache)")
    materializer = by_name(str(meta.get("materializer")))
    if materializer.runs_code(data) and settings.no_pickle():
        raise MaterializerError(
            f"artifact {where} is stored with the {materializer.name} materializer, which unpickles",
            hint="no_pickle is on (settings.yaml, ZENPROVISION_NO_PICKLE or --no-pickle): re-run the step "
                 "that wrote it (--no-cache) to store it without pickle, or turn no_pickle off if you trust the store")
    return materializer.loads(data)
