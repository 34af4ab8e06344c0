"""The `local` stack: everything on this machine, under $ZENPROVISION_HOME/local/<stack>."""

import pulumi

from zenprovision.blocks.dask_cluster import LocalDaskCluster
from zenprovision.blocks.local import LocalFolder, LocalOrchestrator, MLServerModelServer
from zenprovision.errors import InputError
from zenprovision.extras import require as require_extra
from zenprovision.home import logs_dir, stack_data_dir

config = pulumi.Config()
# Checked before any resource is created: a missing extra must leave nothing behind.
require_extra("local", "the local recipe's MLServer model server")
if config.require("orchestrator") == "dask":
    require_extra("dask", "the local recipe's Dask orchestrator (-c orchestrator=dask)")
root = stack_data_dir(pulumi.get_stack())
# Where a server that failed to start leaves its log: outside the folders a failed create removes.
failed_logs = str(logs_dir() / pulumi.get_stack())

# Everything lives in one folder per stack; it is removed last, and only once empty.
stack_home = LocalFolder("stack-home", path=str(root), force_destroy=False)
inside_home = pulumi.ResourceOptions(depends_on=[stack_home])

artifacts = LocalFolder(
    "artifact-store",
    path=str(root / "artifacts"),
    force_destroy=config.require_bool("force_destroy"),
    opts=inside_home,
)
if config.require("orchestrator") == "dask":
    cluster = LocalDaskCluster(
        "dask-cluster", root=str(root / "dask"), workers=config.require_int("dask_workers"),
        log_dir=failed_logs, worker_env=config.require_object("dask_worker_env"), opts=inside_home,
    )
    orchestrator_component = {"flavor": "dask", "config": {"scheduler_address": cluster.scheduler_address}}
elif config.require("orchestrator") == "local":
    orchestrator = LocalOrchestrator(
        "orchestrator",
        work_dir=str(root / "orchestrator"),
        workers=config.require_int("workers"),
        opts=inside_home,
    )
    orchestrator_component = {"flavor": "local", "config": {"workers": orchestrator.workers}}
else:
    raise InputError(f"config orchestrator must be local or dask, not {config.require('orchestrator')!r}")
model_server = MLServerModelServer(
    "model-server",
    root=str(root / "mlserver"),
    port=config.require_int("model_server_port"),
    log_dir=failed_logs,
    opts=inside_home,
)

pulumi.export(
    "stack",
    {
        "artifact_store": {"flavor": "local", "config": {"path": artifacts.uri}},
        "orchestrator": orchestrator_component,
        "model_server": {
            "flavor": "mlserver",
            "config": {
                "endpoint": model_server.endpoint,
                "model_repository": model_server.model_repository,
            },
        },
    },
)
