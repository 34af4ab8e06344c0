"""aws-k8s: EKS + S3 + ECR + IRSA + KServe, composed from zenprovision's building blocks."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from zenprovision.blocks.aws.cluster import EksCluster, EksClusterArgs
from zenprovision.blocks.aws.identity import IrsaRole, IrsaRoleArgs
from zenprovision.blocks.aws.network import AwsNetwork, AwsNetworkArgs
from zenprovision.blocks.aws.registry import EcrRegistry, EcrRegistryArgs
from zenprovision.blocks.aws.storage import S3ArtifactStore, S3ArtifactStoreArgs
from zenprovision.blocks.kubernetes import KServeArgs, KServeInstall, PipelineNamespace, PipelineNamespaceArgs
from zenprovision.blocks.labels import StackLabels
from zenprovision.blocks.options import force_destroy

config = pulumi.Config()
labels = StackLabels.from_config()
region = config.require("region")
namespace, service_account = config.require("namespace"), config.require("service_account")
destroyable = force_destroy(config.require("force_destroy"), labels)
provider = aws.Provider("aws", region=region)
on_aws = pulumi.ResourceOptions(provider=provider)

network = AwsNetwork("network", AwsNetworkArgs(
    labels=labels,
    availability_zones=config.require_object("availability_zones") or [f"{region}a", f"{region}b"],
    cidr=config.require("vpc_cidr"),
    existing_vpc_id=config.require("vpc_id"),
    existing_public_subnet_ids=config.require_object("public_subnet_ids"),
    existing_private_subnet_ids=config.require_object("private_subnet_ids"),
), on_aws)
store = S3ArtifactStore("artifacts", S3ArtifactStoreArgs(
    labels=labels, region=region, force_destroy=destroyable, versioning=config.require_bool("bucket_versioning")
), on_aws)
registry = EcrRegistry("registry", EcrRegistryArgs(labels=labels, force_delete=destroyable), on_aws)
cluster = EksCluster("eks", EksClusterArgs(
    labels=labels, region=region, kubernetes_version=config.require("kubernetes_version"),
    subnet_ids=network.public_subnet_ids + network.private_subnet_ids, node_subnet_ids=network.private_subnet_ids,
    instance_types=config.require_object("instance_types"), min_size=config.require_int("node_min_size"),
    desired_size=config.require_int("node_desired_size"), max_size=config.require_int("node_max_size"),
), on_aws)
steps_role = IrsaRole("steps", IrsaRoleArgs(
    labels=labels, oidc_provider_arn=cluster.oidc_provider.arn, issuer_host=cluster.issuer_host,
    namespace=namespace, service_account=service_account,
    bucket_arn=store.bucket.arn, repository_arn=registry.repository.arn,
), on_aws)

kubernetes = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig,
                          opts=pulumi.ResourceOptions(depends_on=[cluster.node_group]))
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": kubernetes})
PipelineNamespace("pipelines", PipelineNamespaceArgs(
    labels=labels, namespace=namespace, service_account=service_account,
    annotations={"eks.amazonaws.com/role-arn": steps_role.role.arn},
), on_cluster)
KServeInstall("kserve", KServeArgs(config.require("kserve_version"), config.require("cert_manager_version")), on_cluster)

pulumi.export("stack", {
    "artifact_store": {"flavor": "s3", "config": {"bucket": store.bucket.bucket, "region": region}},
    "container_registry": {"flavor": "ecr", "config": {"uri": registry.repository.repository_url, "region": region}},
    "orchestrator": {"flavor": "kubernetes", "config": {
        "cluster_name": cluster.cluster.name, "namespace": namespace, "service_account": service_account,
        "region": region, "kubeconfig": "pulumi:kubeconfig"}},
    "model_server": {"flavor": "kserve", "config": {"namespace": namespace, "service_account": service_account}},
})
pulumi.export("kubeconfig", cluster.kubeconfig)
