"""Import zenprovision's exports with the real ZenML and Metaflow clients (not run in CI).

    python benchmarks/compat_clients.py --client-python /path/to/venv/bin/python

The client venv needs `zenml` (with its s3, gcp and kubernetes integration requirements:
s3fs, boto3, gcsfs, kubernetes) and `metaflow`; this venv needs moto. Three stacks are
exported: a local one, an S3 one on a moto server, and an aws-k8s-shaped one (S3, EKS
orchestrator, ECR). For each, in a throwaway ZenML store and Metaflow home:
  - `zenml stack import NAME -f FILE` and then every imported component's flavor and
    configuration read back from ZenML equal what the export wrote (nothing dropped);
  - Metaflow's own `metaflow_config` reads every exported key with the exported value, and
    where the stack has a registry, Metaflow's `@kubernetes` puts an image named like the
    stack's repository into that very repository;
  - for the S3 stack, a two-step Metaflow flow runs on the moto-backed datastore.
Prints one line per check and exits 1 if any fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import yaml

from zenprovision.stacks import exports
from zenprovision.stacks.config import StackConfig

READ_BACK = textwrap.dedent("""
    import json, sys
    from zenml.client import Client
    stack = Client().get_stack(sys.argv[1])
    print(json.dumps({t.value: {"flavor": c[0].flavor_name, "configuration": c[0].configuration}
                      for t, c in stack.components.items()}, default=str))
""")
METAFLOW_READ = textwrap.dedent("""
    import json, sys
    from metaflow import metaflow_config as config
    keys = json.loads(sys.argv[1])
    print(json.dumps({k: getattr(config, k.removeprefix("METAFLOW_")) for k in keys}, default=str))
""")
METAFLOW_IMAGE = textwrap.dedent("""
    import sys
    from metaflow.plugins.kubernetes.kubernetes_decorator import KubernetesDecorator
    deco = KubernetesDecorator(attributes={"image": sys.argv[1]})
    deco.init()  # where Metaflow puts KUBERNETES_CONTAINER_REGISTRY before an image that names no registry
    print(deco.attributes["image"])
""")
ZENML_PIPELINE = textwrap.dedent("""
    import sys
    from zenml import pipeline, step
    from zenml.client import Client

    @step
    def numbers() -> list:
        return [1, 2, 3]

    @step
    def total(values: list) -> int:
        return sum(values)

    @pipeline
    def compat():
        total(numbers())

    Client().activate_stack(sys.argv[1])
    run = compat()
    print(run.status, run.steps["total"].outputs["output"][0].uri)
""")
FLOW = textwrap.dedent("""
    from metaflow import FlowSpec, step

    class CompatFlow(FlowSpec):
        @step
        def start(self):
            self.numbers = [1, 2, 3]
            self.next(self.end)

        @step
        def end(self):
            assert sum(self.numbers) == 6

    if __name__ == "__main__":
        CompatFlow()
""")


def stacks(work: Path, endpoint: str, bucket: str) -> list[StackConfig]:
    created = datetime.now(timezone.utc)
    local_model = {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:8080"}}
    return [
        StackConfig(name="compat-local", recipe="local", engine="embedded", created_at=created, components={
            "artifact_store": {"flavor": "local", "config": {"path": f"file://{work / 'artifacts'}"}},
            "orchestrator": {"flavor": "local", "config": {"workers": 1}}, "model_server": local_model}),
        StackConfig(name="compat-s3", recipe="local", engine="embedded", created_at=created, components={
            "artifact_store": {"flavor": "s3", "config": {"bucket": bucket, "prefix": "runs", "region": "us-east-1",
                                                          "endpoint_url": endpoint}},
            "orchestrator": {"flavor": "local", "config": {"workers": 1}}, "model_server": local_model}),
        StackConfig(name="compat-eks", recipe="aws-k8s", engine="pulumi", created_at=created, components={
            "artifact_store": {"flavor": "s3", "config": {"bucket": bucket, "region": "us-east-1"}},
            "container_registry": {"flavor": "ecr", "config": {
                "uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/zp-compat-pipelines"}},
            "orchestrator": {"flavor": "kubernetes", "config": {
                "cluster_name": "zp-compat-eks", "namespace": "zenprovision", "service_account": "zenprovision-steps"}},
            "model_server": {"flavor": "kserve", "config": {"namespace": "zenprovision"}}}),
    ]


def run(python: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([python, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def check_zenml(python: str, config: StackConfig, env: dict[str, str], work: Path) -> tuple[bool, str]:
    document, notes = exports.to_zenml(config)
    path = work / f"{config.name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    zenml = str(Path(python).with_name("zenml"))
    imported = subprocess.run([zenml, "stack", "import", config.name, "-f", str(path)], env=env, cwd=work,
                              capture_output=True, text=True, timeout=600)
    if imported.returncode != 0:
        return False, f"zenml stack import failed: {(imported.stderr or imported.stdout).strip()[-400:]}"
    back = run(python, ["-c", READ_BACK, config.name], env, work)
    if back.returncode != 0:
        return False, f"reading the stack back failed: {back.stderr.strip()[-400:]}"
    read = json.loads(back.stdout.strip().splitlines()[-1])
    for kind, component in document["components"].items():
        got = read.get(kind)
        if got is None or got["flavor"] != component["flavor"]:
            return False, f"{kind}: imported as {got}"
        dropped = {k: v for k, v in component["configuration"].items() if got["configuration"].get(k) != v}
        if dropped:
            return False, f"{kind}: ZenML did not keep {dropped} (has {got['configuration']})"
    summary = f"zenml {document['zenml_version']} imported {', '.join(read)}" + (f"; {notes[0]}" if notes else "")
    if config.components.orchestrator.flavor != "local":
        return True, summary
    (work / "compat_pipeline.py").write_text(ZENML_PIPELINE)
    ran = run(python, ["compat_pipeline.py", config.name], env, work)
    if ran.returncode != 0:
        return False, f"a ZenML pipeline failed on the stack: {(ran.stderr or ran.stdout).strip()[-600:]}"
    return True, f"{summary}; a pipeline ran: {ran.stdout.strip().splitlines()[-1]}"


def check_metaflow(python: str, config: StackConfig, env: dict[str, str], work: Path, flow: bool) -> tuple[bool, str]:
    settings = exports.to_metaflow(config)
    home = work / f"metaflow-{config.name}"
    home.mkdir()
    (home / "config.json").write_text(json.dumps(settings))
    env = {**env, "METAFLOW_HOME": str(home)}
    read = run(python, ["-c", METAFLOW_READ, json.dumps(sorted(settings))], env, work)
    if read.returncode != 0:
        return False, f"metaflow_config failed: {read.stderr.strip()[-400:]}"
    seen = json.loads(read.stdout.strip().splitlines()[-1])
    wrong = {k: seen.get(k) for k, v in settings.items() if seen.get(k) != v}
    if wrong:
        return False, f"Metaflow read other values: {wrong}"
    registry = config.components.container_registry
    if registry is not None:  # @kubernetes(image=...) must land in the stack's repository
        uri = str(registry.config["uri"])
        image, wanted = (uri.partition("/")[2] + ":compat", uri + ":compat") if registry.flavor == "ecr" \
            else ("compat:v1", uri + "/compat:v1")
        pulled = run(python, ["-c", METAFLOW_IMAGE, image], env, work)
        if pulled.returncode != 0 or pulled.stdout.strip().splitlines()[-1:] != [wanted]:
            return False, f"@kubernetes(image={image!r}) pulls {(pulled.stdout or pulled.stderr).strip()[-400:]}, not {wanted}"
    if not flow:
        return True, f"metaflow_config reads all {len(settings)} keys" + (f"; images resolve into {uri}" if registry else "")
    (work / "compat_flow.py").write_text(FLOW)
    ran = run(python, ["compat_flow.py", "--no-pylint", "run"], {**env, "USERNAME": "compat"}, work)
    if ran.returncode != 0:
        return False, f"flow failed: {(ran.stderr or ran.stdout).strip()[-600:]}"
    return True, f"metaflow_config reads all {len(settings)} keys; a flow ran on {settings['METAFLOW_DATASTORE_SYSROOT_S3']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client-python", required=True, help="python of a venv with zenml and metaflow")
    args = parser.parse_args()
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    failures = 0
    with tempfile.TemporaryDirectory(prefix="zp-compat-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "ZENML_CONFIG_PATH": str(work / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false",
               "ZENML_ENABLE_RICH_TRACEBACK": "false", "AUTO_OPEN_DASHBOARD": "false",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket="zp-compat")
        for config in stacks(work, endpoint, "zp-compat"):
            for tool, (ok, detail) in (
                ("zenml", check_zenml(args.client_python, config, env, work)),
                ("metaflow", check_metaflow(args.client_python, config, env, work, flow=config.name == "compat-s3")),
            ):
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {config.name:12} {tool:9} {detail}")
    server.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
