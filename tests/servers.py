"""Servers the test suite starts on 127.0.0.1 (moto S3, GCS emulator), as pytest fixtures.

Loaded as a plugin from tests/conftest.py. Each server lives for the whole session, bound
to 127.0.0.1 on a port the OS picks, and is stopped (its listening socket closed) at the
end. Per-test fixtures hand out a fresh bucket, so tests never see each other's objects.

The environment the servers need is set in ``os.environ`` (not per test) so that child
processes started by the tests, such as the real CLI, inherit it too.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

# gcsfs decides at import time whether to enable its experimental hierarchical-namespace
# support, which probes over gRPC and can hang against an emulator. This module is loaded
# as a plugin, before any test module (or the product) can import gcsfs.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

LOCALHOST = "127.0.0.1"
GCS_PROJECT = "test"


def unique_bucket_name(kind: str) -> str:
    """A valid bucket name (S3 and GCS rules) that no other test uses."""
    return f"zp-{kind}-{uuid.uuid4().hex[:16]}"


def wait_until_answers(url: str, timeout: float = 10.0) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server at {url} did not answer within {timeout} s") from None
            time.sleep(0.05)


# --- S3 (moto) ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def aws_credentials() -> Iterator[None]:
    """Fake AWS credentials for the session; nothing may reach a real AWS account."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never probe 169.254.169.254
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
                     "AWS_ENDPOINT_URL_S3"):
            mp.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def shared_botocore_data() -> Iterator[None]:
    """One botocore data loader for every client this process makes. s3fs gives each
    filesystem (each S3 home or artifact store a test opens) a session of its own, and each
    session parses botocore's S3 model again: ~0.1 s of CPU a filesystem. boto3 shares one
    loader between the clients of a session; this shares it between sessions. Only the
    parsed service data is shared: credentials, endpoints and clients stay per session."""
    import functools

    import botocore.loaders
    import botocore.session

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(botocore.session, "create_loader", functools.lru_cache(botocore.loaders.create_loader))
        yield


@pytest.fixture(scope="session")
def shared_tls_context() -> Iterator[None]:
    """One TLS context per verify setting for every aiobotocore client this process makes.
    Each S3 filesystem (each S3 home or artifact store a test opens) gets an HTTP session of
    its own, and each builds a TLS context that loads the CA bundle again: ~16 ms of CPU, even
    for the moto server's plain-HTTP endpoint. Once built, a context is only read (aiohttp
    wraps sockets with it), so sessions may share it. A client certificate or a proxy (none
    in the tests) still gets contexts of its own."""
    from aiobotocore.httpsession import AIOHTTPSession

    build = AIOHTTPSession._build_ssl_contexts
    built: dict[tuple, tuple] = {}

    def build_ssl_contexts(self, proxy_url):
        if self._cert_file or proxy_url or not isinstance(self._verify, (bool, str)):
            return build(self, proxy_url)
        key = (type(self), self._verify)
        if key not in built:
            built[key] = build(self, proxy_url)
        return built[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AIOHTTPSession, "_build_ssl_contexts", build_ssl_contexts)
        yield


@pytest.fixture(scope="session")
def moto_modules_listed_once() -> Iterator[None]:
    """moto's server lists its own package folder (~150 ``stat`` calls) for every request, to
    tell a service's name from a host name; the folder does not change while tests run."""
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(moto.backends, "list_of_moto_modules", lambda: modules)
        yield


@pytest.fixture(scope="session")
def moto_server(aws_credentials, shared_botocore_data, shared_tls_context, moto_modules_listed_once) -> Iterator[str]:
    """A moto server (all AWS services) on 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=LOCALHOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        wait_until_answers(f"{endpoint}/moto-api/")
        yield endpoint
    finally:
        server.stop()  # werkzeug closes the listening socket when its serve loop ends


@pytest.fixture(scope="session")
def s3_client(moto_server):
    """A boto3 S3 client on the moto server (made once: a boto3 client costs ~0.15 s)."""
    import boto3

    return boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")


@pytest.fixture
def s3_bucket(moto_server, s3_client) -> dict:
    """A fresh bucket on the moto server, as an ``s3`` artifact store config."""
    name = unique_bucket_name("s3")
    s3_client.create_bucket(Bucket=name)
    return {"bucket": name, "prefix": "artifacts", "region": "us-east-1", "endpoint_url": moto_server}


# --- GCS (gcp-storage-emulator) ----------------------------------------------------------


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """An in-memory GCS emulator on 127.0.0.1; yields its endpoint URL."""
    from gcp_storage_emulator.server import create_server

    server = create_server(LOCALHOST, 0, in_memory=True)
    server.start()  # returns once the HTTP server is bound
    _quiet_disconnects(server._api._httpd)
    try:
        # Port 0 lets the OS pick a free port without a race; the emulator has no public
        # accessor for the bound address, so read it from its HTTP server.
        port = server._api._httpd.server_address[1]
        endpoint = f"http://{LOCALHOST}:{port}"
        wait_until_answers(f"{endpoint}/")
        with pytest.MonkeyPatch.context() as mp:
            # google-cloud-storage (and gcsfs without an endpoint_url) go to the emulator.
            mp.setenv("STORAGE_EMULATOR_HOST", endpoint)
            mp.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
            yield endpoint
    finally:
        server.stop()  # shuts down and closes the listening socket


def _quiet_disconnects(httpd) -> None:
    """A client that hangs up early (gcsfs does) is no error of ours: without this, the
    emulator's HTTP server prints a BrokenPipeError traceback for each into the test output.
    Any other error is still printed."""
    default = httpd.handle_error

    def handle_error(request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipeError, ConnectionResetError
            default(request, client_address)

    httpd.handle_error = handle_error


@pytest.fixture(scope="session")
def gcs_client(gcs_emulator):
    """A google-cloud-storage client on the emulator, without credentials."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project=GCS_PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcs_emulator},
    )


@pytest.fixture
def gcs_bucket(gcs_emulator, gcs_client) -> dict:
    """A fresh bucket on the GCS emulator, as a ``gcs`` artifact store config."""
    name = unique_bucket_name("gcs")
    gcs_client.create_bucket(name)
    return {"bucket": name, "prefix": "artifacts", "project": GCS_PROJECT, "endpoint_url": gcs_emulator}
