"""A home under ``gs://bucket/prefix``, through gcsfs, with GCS generation preconditions.

``ifGenerationMatch=0`` creates a document only if it is absent, ``ifGenerationMatch=<n>``
replaces generation ``n`` only; GCS answers 412 to the loser. A read takes the object's
metadata first and then its bytes pinned to that generation, so data and etag agree.

The gcp-storage-emulator the tests run ignores preconditions, so locking on a GCS home is
not proven by zenprovision's own suite: using one prints a warning (see ``UNPROVEN``).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any
from urllib.parse import quote

from zenprovision.errors import HomeAccessError, OperationFailed, ZenProvisionError
from zenprovision.homes.location import Location
from zenprovision.homes.objects import Blob, Objects

ACCEPT_ENV = "ZENPROVISION_ACCEPT_GCS_HOME"
UNPROVEN = ("warning: locking on a gs:// home relies on GCS generation preconditions, which zenprovision's "
            "test suite cannot exercise (the GCS emulator ignores them); prefer an s3:// home for a team until "
            f"they are proven, or set {ACCEPT_ENV}=1 to accept the risk and silence this warning")


CONNECT_TIMEOUT = 5.0  # seconds to open a connection; gcsfs sets none (the OS's, about two minutes)
CONNECT_ATTEMPTS = 2  # gcsfs alone retries a refused connection 6 times over about a minute


class _Unreachable(Exception):
    """No connection could be opened. Not an aiohttp error: gcsfs's retry loop lets it through at once."""


def _fail_fast_options() -> dict[str, Any]:
    """GCSFileSystem options under which a connection that cannot be made fails at once, in one line.

    A trace hook turns aiohttp's connection errors (refused, no such host, connect timeout) into
    ``_Unreachable``; answers of the server (429, 5xx) are still retried by gcsfs as before.
    """
    import aiohttp

    no_connection = (aiohttp.ClientConnectorError,  # ConnectionTimeoutError: a connect timeout, aiohttp >= 3.10
                     getattr(aiohttp, "ConnectionTimeoutError", aiohttp.ClientConnectorError))

    async def on_error(_session: Any, _context: Any, params: Any) -> None:
        error = params.exception
        if isinstance(error, no_connection):
            raise _Unreachable((str(error).splitlines() or [type(error).__name__])[0][:200]) from error

    trace = aiohttp.TraceConfig()
    trace.on_request_exception.append(on_error)
    return {"session_kwargs": {"trace_configs": [trace]},
            "requests_timeout": aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT)}


def _quiet(logger: logging.Logger) -> None:
    """No traceback of gcsfs's retries on stderr (Python's last-resort handler): ours is one line.

    A handler the user's logging configuration adds (e.g. to the root logger) still gets them.
    """
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


class GcsObjects(Objects):
    def __init__(self, location: Location) -> None:
        import os

        from zenprovision import extras

        extras.require("gcp", f"the home {location}", modules=("gcsfs",))
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # else gcsfs may hang on gRPC
        import warnings

        with warnings.catch_warnings():  # google-api-core's Python-support notices are not the user's business
            warnings.simplefilter("ignore", FutureWarning)
            import gcsfs

        if os.environ.get(ACCEPT_ENV, "").strip().lower() not in {"1", "true", "yes"}:
            print(UNPROVEN, file=sys.stderr)
        self.location = location
        _quiet(logging.getLogger("gcsfs"))
        self.fs = gcsfs.GCSFileSystem(skip_instance_cache=True, **_fail_fast_options())

    def _call(self, key: str, method: str, path: str, *args: str, **kwargs: Any) -> Any:
        from fsspec.asyn import sync

        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                return sync(self.fs.loop, self.fs._call, method, path, *args, **kwargs)
            except _Unreachable as exc:  # nothing was sent: trying again is safe, even for a write
                if attempt == CONNECT_ATTEMPTS:
                    raise HomeAccessError(
                        f"the home {self.location} cannot be reached: no connection to {self.fs._location} "
                        f"({exc})", hint="check the network, the home's URL and STORAGE_EMULATOR_HOST if you "
                                         "use one, then retry") from None
                time.sleep(0.5 * attempt)
            except ZenProvisionError:
                raise
            except FileExistsError:  # gcsfs's name for 412 Precondition Failed
                raise self.conflict(key) from None
            except FileNotFoundError:
                raise
            except Exception as exc:
                raise self._translate(exc, key) from None
        raise AssertionError("unreachable")

    def _translate(self, exc: Exception, key: str) -> Exception:
        text = str(exc)
        if "Forbidden" in text or "401" in text or "403" in text:
            return HomeAccessError(f"no permission to use {self.location.child(key)}",
                                   hint="check `gcloud auth application-default login` or "
                                        "GOOGLE_APPLICATION_CREDENTIALS, and the bucket's IAM")
        if "credentials" in text.lower() or type(exc).__name__ == "DefaultCredentialsError":
            return HomeAccessError(f"no Google credentials to use the home {self.location}",
                                   hint="run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS")
        return OperationFailed(f"the home {self.location} cannot be reached: {(text.splitlines() or [''])[0][:200]}",
                               hint="check the network (and STORAGE_EMULATOR_HOST if you use one), then retry")

    def _object(self, key: str) -> str:
        return self.location.key(key).partition("/")[2]

    def get(self, key: str) -> Blob | None:
        bucket, name = self.location.bucket, self._object(key)
        try:
            meta = self._call(key, "GET", "b/{}/o/{}", bucket, name, json_out=True)
            _, data = self._call(key, "GET", "b/{}/o/{}", bucket, name, alt="media", generation=meta["generation"])
        except FileNotFoundError:
            self._check_bucket(key)
            return None
        return Blob(bytes(data), str(meta["generation"]))

    def _check_bucket(self, key: str) -> None:
        try:
            self._call(key, "GET", "b/{}", self.location.bucket, json_out=True)
        except FileNotFoundError:
            raise HomeAccessError(f"the bucket of the home {self.location} does not exist",
                                  hint=f"create it (gcloud storage buckets create gs://{self.location.bucket}) "
                                       "or fix the home's URL") from None

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        condition = {"ifGenerationMatch": "0"} if if_none_match else {"ifGenerationMatch": if_match} if if_match else {}
        url = f"{self.fs._location}/upload/storage/v1/b/{quote(self.location.bucket)}/o"
        try:
            written = self._call(key, "POST", url, uploadType="media", name=self._object(key), data=data,
                                 json_out=True, headers={"Content-Type": "application/octet-stream"}, **condition)
        except FileNotFoundError:
            self._check_bucket(key)
            if if_match:  # the generation to replace is gone: as S3's If-Match on a deleted key
                raise self.conflict(key) from None
            raise
        return str(written["generation"])

    def delete(self, key: str) -> None:
        try:
            self._call(key, "DELETE", "b/{}/o/{}", self.location.bucket, self._object(key))
        except FileNotFoundError:
            pass

    def names(self, folder: str, suffix: str) -> list[str]:
        prefix = self._object(folder).rstrip("/") + "/"
        found, token = [], None
        while True:
            try:
                page = self._call(folder, "GET", "b/{}/o", self.location.bucket, prefix=prefix, delimiter="/",
                                  json_out=True, **({"pageToken": token} if token else {}))
            except FileNotFoundError:  # the bucket's listing is gone: say which, in one line
                self._check_bucket(folder)
                raise
            found += [item["name"][len(prefix):] for item in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                break
        return sorted(n[: -len(suffix)] for n in found if n.endswith(suffix) and not n.startswith("."))
