"""aws-k8s: EKS + S3 + ECR + IRSA + KServe, composed from zenprovision's building blocks."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from zenprovision import __version__
from zenprovision.blocks import teardown_schedule
from zenprovision.blocks.aws.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from zenprovision.blocks.aws.cluster import ALL_LOG_TYPES, DEV_LOG_TYPES, EksCluster, EksClusterArgs
from zenprovision.blocks.aws.identity import IrsaRole, IrsaRoleArgs
from zenprovision.blocks.aws.network import AwsNetwork, AwsNetworkArgs, available_zones
from zenprovision.blocks.aws.registry import EcrRegistry, EcrRegistryArgs
from zenprovision.blocks.aws.storage import S3ArtifactStore, S3ArtifactStoreArgs
from zenprovision.blocks.aws.teardown import TeardownRole, TeardownRoleArgs
from zenprovision.blocks.kubernetes import KServeArgs, KServeInstall, PipelineNamespace, PipelineNamespaceArgs
from zenprovision.blocks.labels import StackLabels
from zenprovision.blocks.options import api_access_cidrs, force_destroy, prod_default
from zenprovision.blocks.teardown_schedule import TeardownSchedule, TeardownScheduleArgs, teardown_config

config = pulumi.Config()
labels = StackLabels.from_config()
region = config.require("region")
namespace, service_account = config.require("namespace"), config.require("service_account")
destroyable = force_destroy(config.require("force_destroy"), labels)
teardown = teardown_config(config, "s3", labels)  # None: no teardown schedule (the default)
provider = aws.Provider("aws", region=region)
on_aws = pulumi.ResourceOptions(provider=provider)


def zones() -> list[str]:
    """The configured zones, else the first of the region's available ones (3 in prod, else 2)."""
    wanted = config.require_object("availability_zones")
    if wanted or config.require("vpc_id"):
        return wanted
    return available_zones(region, provider, count=3 if labels.is_prod else 2)


network = AwsNetwork("network", AwsNetworkArgs(
    labels=labels,
    availability_zones=zones(),
    cidr=config.require("vpc_cidr"),
    existing_vpc_id=config.require("vpc_id"),
    existing_public_subnet_ids=config.require_object("public_subnet_ids"),
    existing_private_subnet_ids=config.require_object("private_subnet_ids"),
    nat_per_zone=prod_default("nat_per_zone", config.require("nat_per_zone"), labels),
    flow_logs=prod_default("flow_logs", config.require("flow_logs"), labels),
), on_aws)
store = S3ArtifactStore("artifacts", S3ArtifactStoreArgs(
    labels=labels, region=region, force_destroy=destroyable, versioning=config.require_bool("bucket_versioning"),
    noncurrent_days=config.require_int("noncurrent_version_days"),
), on_aws)
registry = EcrRegistry("registry", EcrRegistryArgs(labels=labels, force_delete=destroyable), on_aws)
cluster = EksCluster("eks", EksClusterArgs(
    labels=labels, region=region, kubernetes_version=config.require("kubernetes_version"),
    subnet_ids=network.private_subnet_ids, node_subnet_ids=network.private_subnet_ids,
    instance_types=config.require_object("instance_types"), min_size=config.require_int("node_min_size"),
    desired_size=config.require_int("node_desired_size"), max_size=config.require_int("node_max_size"),
    public_access_cidrs=api_access_cidrs("api_allowed_cidrs", config.require_object("api_allowed_cidrs")),
    admin_principal_arns=config.require_object("admin_principal_arns"),
    node_disk_gib=config.require_int("node_disk_gib"),
    log_types=ALL_LOG_TYPES if labels.is_prod else DEV_LOG_TYPES, log_retention_days=365 if labels.is_prod else 30,
    secrets_encryption=prod_default("secrets_encryption", config.require("secrets_encryption"), labels),
    deletion_protection=prod_default("deletion_protection", config.require("deletion_protection"), labels),
    network_policy=prod_default("network_policy", config.require("network_policy"), labels),
), on_aws)
steps_role = IrsaRole("steps", IrsaRoleArgs(
    labels=labels, oidc_provider_arn=cluster.oidc_provider.arn, issuer_host=cluster.issuer_host,
    namespace=namespace, service_account=service_account,
    bucket_arn=store.bucket.arn, repository_arn=registry.repository.arn,
), on_aws)

kubernetes = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig,
                          opts=pulumi.ResourceOptions(depends_on=[cluster.node_group, *cluster.addons.values()]))
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": kubernetes})
if config.require_bool("cluster_autoscaler"):
    ClusterAutoscaler("autoscaler", ClusterAutoscalerArgs(
        labels=labels, region=region, kubernetes_version=config.require("kubernetes_version"),
        cluster_name=cluster.cluster.name, oidc_provider_arn=cluster.oidc_provider.arn, issuer_host=cluster.issuer_host,
    ), pulumi.ResourceOptions(providers={"aws": provider, "kubernetes": kubernetes}))
PipelineNamespace("pipelines", PipelineNamespaceArgs(
    labels=labels, namespace=namespace, service_account=service_account,
    annotations={"eks.amazonaws.com/role-arn": steps_role.role.arn},
), on_cluster)
KServeInstall("kserve", KServeArgs(config.require("kserve_version"), config.require("cert_manager_version"),
                                   config.require("kserve_ingress_class")), on_cluster)

step_image = config.require("step_image") or pulumi.Output.concat(
    registry.repository.repository_url, f":zenprovision-step-{__version__}")

if teardown:
    teardown_role = TeardownRole("teardown", TeardownRoleArgs(
        labels=labels, oidc_provider_arn=cluster.oidc_provider.arn, issuer_host=cluster.issuer_host,
        namespace=teardown_schedule.NAMESPACE, service_account=teardown_schedule.SERVICE_ACCOUNT,
        home_bucket=teardown.bucket, home_prefix=teardown.prefix,
    ), on_aws)
    TeardownSchedule("teardown", TeardownScheduleArgs(
        labels=labels, home=teardown.home, schedule=teardown.schedule,
        image=teardown.image or pulumi.Output.concat(
            registry.repository.repository_url, f":zenprovision-teardown-{__version__}"),
        annotations={"eks.amazonaws.com/role-arn": teardown_role.role.arn},
        env={"AWS_REGION": region, "AWS_DEFAULT_REGION": region},
    ), on_cluster)

pulumi.export("stack", {
    "artifact_store": {"flavor": "s3", "config": {"bucket": store.bucket.bucket, "region": region}},
    "container_registry": {"flavor": "ecr", "config": {"uri": registry.repository.repository_url, "region": region}},
    "orchestrator": {"flavor": "kubernetes", "config": {
        "cluster_name": cluster.cluster.name, "namespace": namespace, "service_account": service_account,
        "region": region, "kubeconfig": "pulumi:kubeconfig", "image": step_image}},
    "model_server": {"flavor": "kserve", "config": {"namespace": namespace, "service_account": service_account}},
})
pulumi.export("kubeconfig", cluster.kubeconfig)
