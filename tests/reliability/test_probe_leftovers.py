"""A ``kill -9`` during an artifact store's ``check()`` leaves its probe in the user's folder or
bucket; the next check removes it, and never the probe of a check still going on.

The probe names its writer as ``atomic.temp_name`` does (machine, PID); ``atomic.is_stale_temp``
tells whose process is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zenprovision.runtime import flavors

PROBE = ".zenprovision-probe"  # what every probe's name starts with

# A child that runs check() and stops just before it removes its probe: "ready" once the probe
# is written, then it waits to be killed (or lives on: a check going on).
CHECKER = """
import json, os, sys, time
from zenprovision.runtime import flavors
flavor, config = sys.argv[1], json.loads(sys.argv[2])
store = flavors.build("artifact_store", flavor, config)
def stuck(*args, **kwargs):
    print("ready", flush=True)
    time.sleep(600)
async def stuck_async(*args, **kwargs):
    stuck()
if flavor == "local":
    os.unlink = stuck
else:
    type(store.fs)._rm = stuck_async
store.check(timeout=600)
"""


class Checker:
    def __init__(self, flavor: str, config: dict) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHECKER, flavor, json.dumps(config)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def checkers() -> Iterator[Callable[[str, dict], Checker]]:
    started: list[Checker] = []

    def start(flavor: str, config: dict) -> Checker:
        started.append(Checker(flavor, config))
        return started[-1]

    yield start
    for checker in started:
        checker.kill()


@pytest.fixture(params=["local", "s3", "gcs"])
def case(request, tmp_path) -> tuple[str, dict, Callable[[], list[str]]]:
    """(flavor, config, the probe names in the store's root, listed with the backend's own client)."""
    if request.param == "gcs":
        return request.getfixturevalue("gcs_case")
    if request.param == "local":
        root = tmp_path / "store"
        return "local", {"path": root.as_uri()}, lambda: sorted(n for n in os.listdir(root) if n.startswith(PROBE))
    bucket, client = request.getfixturevalue("s3_bucket"), request.getfixturevalue("s3_client")

    def listed() -> list[str]:
        found = client.list_objects_v2(Bucket=bucket["bucket"], Prefix=f"{bucket['prefix']}/{PROBE}")
        return sorted(Path(item["Key"]).name for item in found.get("Contents", []))

    return "s3", bucket, listed


@pytest.fixture
def gcs_case(gcs_bucket, gcs_client) -> tuple[str, dict, Callable[[], list[str]]]:
    def listed() -> list[str]:
        found = gcs_client.list_blobs(gcs_bucket["bucket"], prefix=f"{gcs_bucket['prefix']}/{PROBE}")
        return sorted(Path(blob.name).name for blob in found)

    return "gcs", gcs_bucket, listed


def test_the_next_check_removes_a_killed_checks_probe_and_keeps_a_live_ones(case, checkers):
    flavor, config, probes = case
    killed = checkers(flavor, config)
    left = probes()
    assert len(left) == 1
    killed.kill()
    live = checkers(flavor, config)
    assert len(probes()) == 2
    flavors.build("artifact_store", flavor, config).check()
    still = probes()
    assert len(still) == 1 and still != left  # the live check's probe only: its remove must succeed
    live.kill()
    flavors.build("artifact_store", flavor, config).check()
    assert probes() == []


def test_a_check_leaves_no_probe_and_a_file_named_like_one_of_the_user_is_kept(case):
    flavor, config, probes = case
    store = flavors.build("artifact_store", flavor, config)
    store.write_bytes(f"{PROBE}-notes.txt", b"the user's own file")
    store.check()
    assert probes() == [f"{PROBE}-notes.txt"]
