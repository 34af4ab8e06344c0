"""gcp-k8s: GKE + GCS + Artifact Registry + Workload Identity + KServe, from building blocks."""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from zenprovision import __version__
from zenprovision.blocks import teardown_schedule
from zenprovision.blocks.gcp.apis import BASE_APIS, KMS_API, enable_apis
from zenprovision.blocks.gcp.cluster import (
    DEV_LOG_COMPONENTS,
    PROD_LOG_COMPONENTS,
    GkeCluster,
    GkeClusterArgs,
)
from zenprovision.blocks.gcp.identity import WorkloadIdentity, WorkloadIdentityArgs
from zenprovision.blocks.gcp.registry import ArtifactRegistry, ArtifactRegistryArgs
from zenprovision.blocks.gcp.storage import GcsArtifactStore, GcsArtifactStoreArgs
from zenprovision.blocks.gcp.teardown import TeardownAccount, TeardownAccountArgs
from zenprovision.blocks.kubernetes import KServeArgs, KServeInstall, PipelineNamespace, PipelineNamespaceArgs
from zenprovision.blocks.labels import StackLabels
from zenprovision.blocks.options import api_access_cidrs, force_destroy, prod_default
from zenprovision.blocks.teardown_schedule import TeardownSchedule, TeardownScheduleArgs, teardown_config

config = pulumi.Config()
labels = StackLabels.from_config()
project, region = config.require("project"), config.require("region")
namespace, service_account = config.require("namespace"), config.require("service_account")
teardown = teardown_config(config, "gs", labels)  # None: no teardown schedule (the default)
secrets_key = prod_default("secrets_encryption", config.require("secrets_encryption"), labels)
# The APIs first, with their own provider; every other resource waits for them through its provider.
apis = enable_apis(project, [*BASE_APIS, *([KMS_API] if secrets_key else [])], pulumi.ResourceOptions(
    provider=gcp.Provider("gcp-apis", project=project, region=region, default_labels=labels.gcp_labels())))
provider = gcp.Provider("gcp", project=project, region=region, default_labels=labels.gcp_labels(),
                        opts=pulumi.ResourceOptions(depends_on=apis))
on_gcp = pulumi.ResourceOptions(provider=provider)

store = GcsArtifactStore("artifacts", GcsArtifactStoreArgs(
    labels=labels, project=project, location=region,
    force_destroy=force_destroy(config.require("force_destroy"), labels),
    versioning=config.require_bool("bucket_versioning"), noncurrent_days=config.require_int("noncurrent_version_days"),
), on_gcp)
registry = ArtifactRegistry("registry", ArtifactRegistryArgs(labels=labels, project=project, location=region), on_gcp)
cluster = GkeCluster("gke", GkeClusterArgs(
    labels=labels, project=project, region=region, autopilot=config.require_bool("autopilot"),
    machine_type=config.require("machine_type"), min_nodes=config.require_int("node_min_count"),
    max_nodes=config.require_int("node_max_count"), release_channel=config.require("release_channel"),
    master_authorized_cidrs=api_access_cidrs("api_allowed_cidrs", config.require_object("api_allowed_cidrs")),
    disk_size_gb=config.require_int("node_disk_gb"), secrets_encryption=secrets_key,
    flow_logs=prod_default("flow_logs", config.require("flow_logs"), labels),
    network_policy=prod_default("network_policy", config.require("network_policy"), labels),
    log_components=PROD_LOG_COMPONENTS if labels.is_prod else DEV_LOG_COMPONENTS,
), on_gcp)
identity = WorkloadIdentity("steps", WorkloadIdentityArgs(
    labels=labels, project=project, location=region, namespace=namespace, service_account=service_account,
    bucket=store.bucket.name, repository=registry.repository.repository_id, wait_for=[cluster.cluster],
), on_gcp)

kubernetes = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig, opts=pulumi.ResourceOptions(depends_on=[cluster]))
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": kubernetes})
PipelineNamespace("pipelines", PipelineNamespaceArgs(
    labels=labels, namespace=namespace, service_account=service_account,
    annotations={"iam.gke.io/gcp-service-account": identity.account.email},
), on_cluster)
KServeInstall("kserve", KServeArgs(config.require("kserve_version"), config.require("cert_manager_version"),
                                   config.require("kserve_ingress_class")), on_cluster)

step_image = config.require("step_image") or pulumi.Output.concat(registry.uri, f"/step:zenprovision-{__version__}")

if teardown:
    teardown_account = TeardownAccount("teardown", TeardownAccountArgs(
        labels=labels, project=project, namespace=teardown_schedule.NAMESPACE, service_account=teardown_schedule.SERVICE_ACCOUNT,
        home_bucket=teardown.bucket, home_prefix=teardown.prefix,
        projects=config.require_object("teardown_projects"), wait_for=[cluster.cluster],
    ), on_gcp)
    TeardownSchedule("teardown", TeardownScheduleArgs(
        labels=labels, home=teardown.home, schedule=teardown.schedule,
        image=teardown.image or pulumi.Output.concat(registry.uri, f"/teardown:zenprovision-{__version__}"),
        annotations={"iam.gke.io/gcp-service-account": teardown_account.account.email},
    ), on_cluster)

pulumi.export("stack", {
    "artifact_store": {"flavor": "gcs", "config": {"bucket": store.bucket.name, "project": project}},
    "container_registry": {"flavor": "gar", "config": {"uri": registry.uri}},
    "orchestrator": {"flavor": "kubernetes", "config": {
        "cluster_name": cluster.cluster.name, "namespace": namespace, "service_account": service_account,
        "project": project, "region": region, "kubeconfig": "pulumi:kubeconfig", "image": step_image}},
    "model_server": {"flavor": "kserve", "config": {"namespace": namespace, "service_account": service_account}},
})
pulumi.export("kubeconfig", cluster.kubeconfig)
