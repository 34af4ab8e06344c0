"""Which AWS account and regions a sweep talks to, and AWS errors as zenprovision errors.

Credentials come only from the environment (variables, profile, instance role), never
from flags, so they never appear in shell history or in any message printed here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from zenprovision import extras
from zenprovision.errors import InputError, OperationFailed

ENDPOINT_ENV = "ZENPROVISION_AWS_ENDPOINT_URL"
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d{1,2}$")
_BAD_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId",
                    "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "AuthFailure"}
_CREDENTIALS_HINT = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"


@dataclass
class AwsTarget:
    """One account (the session's), the regions to sweep, and an optional test endpoint."""

    session: Any
    regions: tuple[str, ...]
    endpoint_url: str | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def home_region(self) -> str:
        """Where global services (IAM, the S3 bucket list) are called."""
        return self.regions[0]

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached boto3 client; short timeouts and few retries keep a dead endpoint quick."""
        key = (service, region or self.home_region)
        if key not in self._clients:
            from botocore.config import Config

            config = Config(connect_timeout=5, read_timeout=60,
                            retries={"max_attempts": 3, "mode": "standard"})
            self._clients[key] = self.session.client(service, region_name=key[1],
                                                     endpoint_url=self.endpoint_url, config=config)
        return self._clients[key]


def connect(regions: Sequence[str], endpoint_url: str | None = None) -> AwsTarget:
    """A target for the regions given (default: the environment's region), checked for credentials."""
    extras.require("aws", "sweeping AWS", modules=("boto3",))
    import boto3

    session = boto3.Session()
    chosen = resolve_regions(regions, session.region_name)
    if session.get_credentials() is None:
        raise InputError("no AWS credentials found", hint=_CREDENTIALS_HINT)
    return AwsTarget(session=session, regions=chosen, endpoint_url=endpoint_url or None)


def resolve_regions(regions: Sequence[str], session_region: str | None) -> tuple[str, ...]:
    fallback = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or session_region
    chosen = tuple(dict.fromkeys(regions)) or ((fallback,) if fallback else ())
    if not chosen:
        raise InputError("no AWS region given", hint="pass --region, or set AWS_REGION")
    for region in chosen:
        if not _REGION.match(region):
            raise InputError(f"invalid AWS region {region!r}", hint="use a region code such as us-east-1")
    return chosen


@contextmanager
def aws_errors(action: str, target: AwsTarget) -> Iterator[None]:
    """Turn botocore's errors while *action* runs into one clear zenprovision error."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise InputError("no usable AWS credentials found", hint=_CREDENTIALS_HINT) from exc
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        where = target.endpoint_url or "AWS"
        raise OperationFailed(f"cannot reach {where} while {action}",
                              hint=f"check --endpoint-url / {ENDPOINT_ENV} and the network") from exc
    except ClientError as exc:
        code = error_code(exc)
        if code in _BAD_CREDENTIALS:
            raise InputError(f"AWS rejected the credentials ({code}) while {action}",
                             hint=_CREDENTIALS_HINT) from exc
        raise OperationFailed(f"{action} failed: {describe_error(exc)}",
                              hint="the sweep needs read access to tags, S3, ECR, IAM and EKS") from exc
    except BotoCoreError as exc:
        raise OperationFailed(f"{action} failed: {exc}") from exc


def error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def describe_error(exc: Exception) -> str:
    """One line: ``Code: message`` for AWS errors, the text otherwise."""
    error = getattr(exc, "response", {}).get("Error", {})
    if error.get("Code"):
        return f"{error['Code']}: {error.get('Message') or ''}".rstrip(": ")
    return " ".join(str(exc).split()) or type(exc).__name__
