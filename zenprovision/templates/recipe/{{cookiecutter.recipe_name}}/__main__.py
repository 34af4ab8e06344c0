"""{{ cookiecutter.recipe_name }}: {{ cookiecutter.description | replace('\\', '\\\\') | replace('"', '\\"') }} (owned by {{ cookiecutter.owner_team | replace('\\', '\\\\') | replace('"', '\\"') }}).

Composed from zenprovision's building blocks; edit freely, then run its tests.
"""

import pulumi
{%- if cookiecutter._cloud == "aws" %}
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from zenprovision.blocks.aws.cluster import EksCluster, EksClusterArgs
from zenprovision.blocks.aws.identity import IrsaRole, IrsaRoleArgs
from zenprovision.blocks.aws.network import AwsNetwork, AwsNetworkArgs, available_zones
{%- if cookiecutter._container_registry == "ecr" %}
from zenprovision.blocks.aws.registry import EcrRegistry, EcrRegistryArgs
{%- endif %}
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

zones = available_zones(region, provider, count=3 if labels.is_prod else 2)
network = AwsNetwork("network", AwsNetworkArgs(labels=labels, availability_zones=zones), on_aws)
store = S3ArtifactStore("artifacts", S3ArtifactStoreArgs(labels=labels, region=region, force_destroy=destroyable), on_aws)
{%- if cookiecutter._container_registry == "ecr" %}
registry = EcrRegistry("registry", EcrRegistryArgs(labels=labels, force_delete=destroyable), on_aws)
{%- endif %}
cluster = EksCluster("eks", EksClusterArgs(
    labels=labels, region=region, kubernetes_version=config.require("kubernetes_version"),
    subnet_ids=network.private_subnet_ids, node_subnet_ids=network.private_subnet_ids,  # the control plane is private
    instance_types=config.require_object("instance_types"), min_size=config.require_int("node_min_size"),
    desired_size=config.require_int("node_desired_size"), max_size=config.require_int("node_max_size"),
), on_aws)
steps_role = IrsaRole("steps", IrsaRoleArgs(
    labels=labels, oidc_provider_arn=cluster.oidc_provider.arn, issuer_host=cluster.issuer_host,
    namespace=namespace, service_account=service_account, bucket_arn=store.bucket.arn,
    repository_arn={% if cookiecutter._container_registry == "ecr" %}registry.repository.arn{% else %}None{% endif %},
), on_aws)

kubernetes = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig, opts=pulumi.ResourceOptions(depends_on=[cluster.node_group]))
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": kubernetes})
PipelineNamespace("pipelines", PipelineNamespaceArgs(
    labels=labels, namespace=namespace, service_account=service_account,
    annotations={"eks.amazonaws.com/role-arn": steps_role.role.arn}), on_cluster)
KServeInstall("kserve", KServeArgs(), on_cluster)

pulumi.export("stack", {
    "artifact_store": {"flavor": "s3", "config": {"bucket": store.bucket.bucket, "region": region}},
{%- if cookiecutter._container_registry == "ecr" %}
    "container_registry": {"flavor": "ecr", "config": {"uri": registry.repository.repository_url, "region": region}},
{%- endif %}
    "orchestrator": {"flavor": "kubernetes", "config": {"cluster_name": cluster.cluster.name, "namespace": namespace,
                                                         "service_account": service_account, "region": region,
                                                         "kubeconfig": "pulumi:kubeconfig"}},
    "model_server": {"flavor": "kserve", "config": {"namespace": namespace, "service_account": service_account}},
})
pulumi.export("kubeconfig", cluster.kubeconfig)
{%- elif cookiecutter._cloud == "gcp" %}
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from zenprovision.blocks.gcp.cluster import GkeCluster, GkeClusterArgs
from zenprovision.blocks.gcp.identity import WorkloadIdentity, WorkloadIdentityArgs
{%- if cookiecutter._container_registry == "gar" %}
from zenprovision.blocks.gcp.registry import ArtifactRegistry, ArtifactRegistryArgs
{%- endif %}
from zenprovision.blocks.gcp.storage import GcsArtifactStore, GcsArtifactStoreArgs
from zenprovision.blocks.kubernetes import KServeArgs, KServeInstall, PipelineNamespace, PipelineNamespaceArgs
from zenprovision.blocks.labels import StackLabels
from zenprovision.blocks.options import force_destroy

config = pulumi.Config()
labels = StackLabels.from_config()
project, region = config.require("project"), config.require("region")
namespace, service_account = config.require("namespace"), config.require("service_account")
on_gcp = pulumi.ResourceOptions(provider=gcp.Provider("gcp", project=project, region=region,
                                                      default_labels=labels.gcp_labels()))

store = GcsArtifactStore("artifacts", GcsArtifactStoreArgs(
    labels=labels, project=project, location=region, force_destroy=force_destroy(config.require("force_destroy"), labels)),
    on_gcp)
{%- if cookiecutter._container_registry == "gar" %}
registry = ArtifactRegistry("registry", ArtifactRegistryArgs(labels=labels, project=project, location=region), on_gcp)
{%- endif %}
cluster = GkeCluster("gke", GkeClusterArgs(
    labels=labels, project=project, region=region, autopilot=config.require_bool("autopilot"),
    machine_type=config.require("machine_type"), min_nodes=config.require_int("node_min_count"),
    max_nodes=config.require_int("node_max_count")), on_gcp)
identity = WorkloadIdentity("steps", WorkloadIdentityArgs(
    labels=labels, project=project, location=region, namespace=namespace, service_account=service_account,
    bucket=store.bucket.name,
    repository={% if cookiecutter._container_registry == "gar" %}registry.repository.repository_id{% else %}None{% endif %},
    wait_for=[cluster.cluster]),  # the workload identity pool exists once the cluster does
    on_gcp)

kubernetes = k8s.Provider("kubernetes", kubeconfig=cluster.kubeconfig, opts=pulumi.ResourceOptions(depends_on=[cluster]))
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": kubernetes})
PipelineNamespace("pipelines", PipelineNamespaceArgs(
    labels=labels, namespace=namespace, service_account=service_account,
    annotations={"iam.gke.io/gcp-service-account": identity.account.email}), on_cluster)
KServeInstall("kserve", KServeArgs(), on_cluster)

pulumi.export("stack", {
    "artifact_store": {"flavor": "gcs", "config": {"bucket": store.bucket.name, "project": project}},
{%- if cookiecutter._container_registry == "gar" %}
    "container_registry": {"flavor": "gar", "config": {"uri": registry.uri}},
{%- endif %}
    "orchestrator": {"flavor": "kubernetes", "config": {"cluster_name": cluster.cluster.name, "namespace": namespace,
                                                         "service_account": service_account, "project": project,
                                                         "region": region, "kubeconfig": "pulumi:kubeconfig"}},
    "model_server": {"flavor": "kserve", "config": {"namespace": namespace, "service_account": service_account}},
})
pulumi.export("kubeconfig", cluster.kubeconfig)
{%- else %}

from zenprovision.blocks.local import LocalFolder, LocalOrchestrator, MLServerModelServer
from zenprovision.home import stack_data_dir

config = pulumi.Config()
root = stack_data_dir(pulumi.get_stack())

stack_home = LocalFolder("stack-home", path=str(root), force_destroy=False)
inside_home = pulumi.ResourceOptions(depends_on=[stack_home])
artifacts = LocalFolder("artifact-store", path=str(root / "artifacts"),
                        force_destroy=config.require_bool("force_destroy"), opts=inside_home)
orchestrator = LocalOrchestrator("orchestrator", work_dir=str(root / "orchestrator"),
                                 workers=config.require_int("workers"), opts=inside_home)
model_server = MLServerModelServer("model-server", root=str(root / "mlserver"),
                                   port=config.require_int("model_server_port"), opts=inside_home)

pulumi.export("stack", {
    "artifact_store": {"flavor": "local", "config": {"path": artifacts.uri}},
    "orchestrator": {"flavor": "local", "config": {"workers": orchestrator.workers}},
    "model_server": {"flavor": "mlserver", "config": {"endpoint": model_server.endpoint,
                                                      "model_repository": model_server.model_repository}},
})
{%- endif %}
