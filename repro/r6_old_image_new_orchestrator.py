"""r6 repro: a step image built before p15c (same tag zenprovision-step-0.1.0) run by a
post-p15c orchestrator. The orchestrator writes the task with this checkout's write_task;
the worker is the earlier version's entrypoint (a749770, extracted to OLD_TREE).

usage: mkdir /tmp/r6old && git -C /work/main archive a749770 zenprovision | tar -x -C /tmp/r6old
       OLD_TREE=/tmp/r6old .venv/bin/python repro/r6_old_image_new_orchestrator.py
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import zenprovision
from zenprovision.runtime import code_package, flavors
from zenprovision.runtime.execution import StepTask, save_artifact
from zenprovision.runtime.loader import load_pipeline
from zenprovision.runtime.remote import write_task

PIPELINES = Path(__file__).resolve().parent.parent / "tests" / "runtime" / "pipelines"
with tempfile.TemporaryDirectory() as tmp:
    component = {"flavor": "local", "config": {"path": Path(tmp, "store").as_uri()}}
    store = flavors.build("artifact_store", "local", component["config"])
    dag = load_pipeline(f"{PIPELINES / 'shapes.py'}:fanout").build(seconds=0)
    source = save_artifact(store, "runs/r1/source", [1, 2, 3], "source")["relpath"]
    node = dag.nodes["work_2"]
    task = StepTask("r1", "work_2", node.step, node.params, {"items": source}, "runs/r1/work_2",
                    {"components": {"artifact_store": component}})
    write_task(store, task, code_package.upload(store, PIPELINES), PIPELINES)
    run = subprocess.run([sys.executable, "-m", "zenprovision.runtime.entrypoint", "--run", "r1", "--step", "work_2"],
                         capture_output=True, text=True, cwd=tmp,
                         env={**os.environ, "PYTHONPATH": os.environ["OLD_TREE"],
                              "ZENPROVISION_ARTIFACT_STORE": json.dumps(component)})
    print(f"version (image tag zenprovision-step-{zenprovision.__version__}):")
    print("old worker exit code:", run.returncode)
    print("old worker stderr tail:", run.stderr.strip().splitlines()[-1:])
