"""A home under ``s3://bucket/prefix``, through s3fs, with S3's conditional writes.

``If-None-Match: *`` creates a document only if it is absent and ``If-Match: <etag>``
replaces it only if nobody changed it since it was read; S3 answers 412 (or 409 when two
conditional writes race) to the loser. The endpoint comes from the environment as for any
AWS tool (``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``), credentials from the usual chain.
"""

from __future__ import annotations

from typing import Any

from zenprovision.errors import HomeAccessError, OperationFailed, ZenProvisionError
from zenprovision.homes.location import Location
from zenprovision.homes.objects import Blob, Objects

_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


class S3Objects(Objects):
    def __init__(self, location: Location) -> None:
        from zenprovision import extras

        extras.require("aws", f"the home {location}", modules=("s3fs", "botocore"))
        import s3fs

        self.location = location
        self.fs = s3fs.S3FileSystem(cache_regions=True, skip_instance_cache=True,  # credentials as of now
                                    config_kwargs=_retries())

    def _call(self, key: str, method: str, **kwargs: Any) -> dict:
        from fsspec.asyn import sync

        async def call() -> dict:
            response = await self.fs._call_s3(method, Bucket=self.location.bucket, **kwargs)
            if "Body" in response:
                body = response["Body"]
                try:
                    response["Data"] = await body.read()
                finally:
                    body.close()
            return response

        try:
            return sync(self.fs.loop, call)
        except ZenProvisionError:
            raise
        except Exception as exc:
            raise self._translate(exc, key, method) from None

    def _translate(self, exc: Exception, key: str, method: str) -> Exception:
        code = _error_code(exc)
        where = self.location.child(key)
        if code in _CONFLICT_CODES:
            return self.conflict(key)
        if code == "NoSuchKey":
            return FileNotFoundError(where)
        if code == "NoSuchBucket":
            return HomeAccessError(f"the bucket of the home {self.location} does not exist",
                                   hint=f"create it (aws s3 mb s3://{self.location.bucket}) or fix the home's URL")
        if code in {"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}:
            verb = "read" if method.startswith(("get", "list")) else "write"
            return HomeAccessError(f"no permission to {verb} {where} ({code})",
                                   hint="check AWS_PROFILE or your keys; read-only users can run "
                                        "`provision stacks`, `output` and `doctor`")
        if type(exc).__name__ in {"EndpointConnectionError", "ConnectTimeoutError"}:  # nothing answered
            return HomeAccessError(f"the home {self.location} cannot be reached: {_one_line(exc)}",
                                   hint="check the network, the home's URL and AWS_ENDPOINT_URL_S3 / "
                                        "AWS_ENDPOINT_URL if you use one, then retry")
        if type(exc).__name__ in {"NoCredentialsError", "PartialCredentialsError", "NoRegionError"}:
            return HomeAccessError(f"no AWS credentials to use the home {self.location}",
                                   hint="set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        return OperationFailed(f"the home {self.location} cannot be reached: {_one_line(exc)}",
                               hint="check the network and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, then retry")

    def get(self, key: str) -> Blob | None:
        try:
            response = self._call(key, "get_object", Key=self.location.key(key).partition("/")[2])
        except FileNotFoundError:
            return None
        return Blob(response["Data"], response["ETag"])

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        condition = {"IfNoneMatch": "*"} if if_none_match else {"IfMatch": if_match} if if_match else {}
        try:
            response = self._call(key, "put_object", Key=self._key(key), Body=data, **condition)
        except FileNotFoundError:  # If-Match on a document that is gone: S3 answers 404
            raise self.conflict(key) from None
        return response["ETag"]

    def delete(self, key: str) -> None:
        self._call(key, "delete_object", Key=self._key(key))

    def names(self, folder: str, suffix: str) -> list[str]:
        prefix = self._key(folder).rstrip("/") + "/"
        found, token = [], None
        while True:
            page = self._call(folder, "list_objects_v2", Prefix=prefix, Delimiter="/",
                              **({"ContinuationToken": token} if token else {}))
            found += [item["Key"][len(prefix):] for item in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                break
        return sorted(n[: -len(suffix)] for n in found if n.endswith(suffix) and not n.startswith("."))

    def _key(self, key: str) -> str:
        return self.location.key(key).partition("/")[2]


def _retries() -> dict[str, Any]:
    """botocore's standard retries (3 attempts, backoff under 3 s) unless the user chose others.

    Its legacy default tries 5 times over about 12 s, so an unreachable home took that long to
    say so; throttling and 5xx answers are still retried.
    """
    import os

    if os.environ.get("AWS_RETRY_MODE") or os.environ.get("AWS_MAX_ATTEMPTS"):
        return {}
    return {"retries": {"mode": "standard", "max_attempts": 3}}


def _error_code(exc: BaseException) -> str:
    """The S3 error code behind an exception, looking through s3fs's translation."""
    for error in (exc, exc.__cause__, exc.__context__):
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", ""))
    return ""


def _one_line(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0][:200]
