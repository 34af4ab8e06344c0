"""A shared home used by someone who may only read it: listing, output and doctor work and
write nothing; a command that would write fails in one line.

The proof is IAM itself: a moto server of its own (its auth switch is process-wide, so not
the session's) enforcing a read-only policy, which refuses any PUT or DELETE.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import boto3
import pytest

from tests.conftest import FIXTURE_RECIPES
from tests.servers import unique_bucket_name, wait_until_answers

SERVER = ("import sys, time; from moto.server import ThreadedMotoServer\n"
          "s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False); s.start()\n"
          "print(s.get_host_and_port()[1], flush=True); sys.stdin.read()")
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"], "Resource": "*"}]}


@pytest.fixture
def iam_moto(aws_credentials) -> Iterator[str]:
    """A moto server in its own process; IAM is enforced once the test posts to reset-auth."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"})
    try:
        endpoint = f"http://127.0.0.1:{proc.stdout.readline().strip()}"
        wait_until_answers(f"{endpoint}/moto-api/")
        yield endpoint
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()


def _enforce_iam(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request).read()


def _reader(endpoint: str) -> dict[str, str]:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read-home", PolicyDocument=json.dumps(READ_ONLY))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


@pytest.mark.slow  # a moto server of its own and seven CLI processes
def test_a_reader_lists_outputs_and_checks_but_cannot_write(iam_moto, cli, tmp_path):
    bucket = unique_bucket_name("ro")
    boto3.client("s3", endpoint_url=iam_moto, region_name="us-east-1").create_bucket(Bucket=bucket)
    team = {"AWS_ENDPOINT_URL": iam_moto, "ZENPROVISION_HOME": f"s3://{bucket}/zp",
            "ZENPROVISION_LOCAL_HOME": str(tmp_path / "laptop"), "ZENPROVISION_RECIPES_PATH": str(FIXTURE_RECIPES)}
    deployed = cli("recipe", "files", "--stack", "s1", "-c", f"dir={tmp_path / 'files'}", "--yes", env=team)
    assert deployed.code == 0, deployed.err
    reader = {**team, **_reader(iam_moto), "ZENPROVISION_LOCAL_HOME": str(tmp_path / "readers-laptop")}
    _enforce_iam(iam_moto)

    listed = cli("stacks", "--json", env=reader)
    assert listed.code == 0, listed.err
    assert [row["name"] for row in json.loads(listed.out)] == ["s1"]
    assert cli("output", "s1", "name", env=reader).out.strip() == "s1"
    doctor = cli("doctor", "s1", env=reader)  # its model server check fails: the `files` recipe has none
    assert "✓ artifact store" in doctor.out and "✓ drift" in doctor.out and doctor.err == "", doctor.err

    for write in (["destroy", "s1", "--yes"], ["refresh", "s1"]):
        refused = cli(*write, env=reader)
        assert refused.code == 2, refused.err
        assert len(refused.err.strip().splitlines()) == 1 and "no permission to write" in refused.err
    assert (tmp_path / "files" / "a").exists()
    stranger = {**reader, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000"}
    assert cli("stacks", env=stranger).code == 2
