"""A home under ``gs://bucket/prefix``, through gcsfs, with GCS generation preconditions.

``ifGenerationMatch=0`` creates a document only if it is absent, ``ifGenerationMatch=<n>``
replaces generation ``n`` only; GCS answers 412 to the loser. A read takes the object's
metadata first and then its bytes pinned to that generation, so data and etag agree.

The gcp-storage-emulator the tests run ignores preconditions, so locking on a GCS home is
not proven by zenprovision's own suite: using one prints a warning (see ``UNPROVEN``).
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote

from zenprovision.errors import HomeAccessError, OperationFailed, ZenProvisionError
from zenprovision.homes.location import Location
from zenprovision.homes.objects import Blob, Objects

ACCEPT_ENV = "ZENPROVISION_ACCEPT_GCS_HOME"
UNPROVEN = ("warning: locking on a gs:// home relies on GCS generation preconditions, which zenprovision's "
            "test suite cannot exercise (the GCS emulator ignores them); prefer an s3:// home for a team until "
            f"they are proven, or set {ACCEPT_ENV}=1 to accept the risk and silence this warning")


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
        self.fs = gcsfs.GCSFileSystem(skip_instance_cache=True)

    def _call(self, key: str, method: str, path: str, *args: str, **kwargs: Any) -> Any:
        from fsspec.asyn import sync

        try:
            return sync(self.fs.loop, self.fs._call, method, path, *args, **kwargs)
        except ZenProvisionError:
            raise
        except FileExistsError:  # gcsfs's name for 412 Precondition Failed
            raise self.conflict(key) from None
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise self._translate(exc, key) from None

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
            page = self._call(folder, "GET", "b/{}/o", self.location.bucket, prefix=prefix, delimiter="/",
                              json_out=True, **({"pageToken": token} if token else {}))
            found += [item["name"][len(prefix):] for item in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                break
        return sorted(n[: -len(suffix)] for n in found if n.endswith(suffix) and not n.startswith("."))
