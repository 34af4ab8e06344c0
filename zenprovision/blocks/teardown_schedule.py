"""A Kubernetes CronJob that tears down a team's expired dev stacks, from a long-lived stack.

It runs ``provision teardown --env dev --expired --yes`` against the team's shared home
(``ZENPROVISION_HOME=s3://...`` or ``gs://...``) in its own namespace, as its own service
account, which the recipe binds to a cloud identity allowed to do only that (IRSA on AWS,
Workload Identity on GCP). Runs never overlap; the teardown's stack locks keep it safe
beside people and CI jobs doing the same. The Pulumi passphrase comes from a Secret the
team creates (never from the stack config): see docs/schedules.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from zenprovision.blocks.labels import StackLabels
from zenprovision.recipes.formats import split_bucket_url

NAMESPACE = SERVICE_ACCOUNT = "zenprovision-teardown"
PASSPHRASE_SECRET, PASSPHRASE_KEY = "pulumi-passphrase", "passphrase"
PASSPHRASE_DIR = "/var/run/secrets/zenprovision"
COMMAND = ("provision", "teardown", "--env", "dev", "--expired", "--yes")
SCRATCH = "/tmp"  # the only writable path: HOME, PULUMI_HOME and zenprovision's local caches
RUN_AS = 1000  # the image's user (docs/images/teardown.Dockerfile)
DEADLINES = {"starting": 600, "active": 2 * 3600}  # a late run is skipped; EKS deletes take ~15 min each
RESOURCES = {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}


@dataclass
class TeardownScheduleArgs:
    labels: StackLabels
    home: str  # s3://bucket/prefix or gs://bucket/prefix
    schedule: str  # five-field cron, UTC
    image: pulumi.Input[str]
    annotations: dict = field(default_factory=dict)  # the service account's cloud identity binding
    env: dict[str, str] = field(default_factory=dict)  # cloud extras, e.g. AWS_REGION


def require_long_lived(labels: StackLabels) -> None:
    """The host must outlive what it tears down: a dev host would destroy its own cluster."""
    if labels.is_dev:
        raise ValueError("teardown_home: the teardown schedule tears down env dev stacks, so it cannot run on one; "
                         "deploy it on a stack with another env (e.g. --env shared)")


def container_env(args: TeardownScheduleArgs) -> list[k8s.core.v1.EnvVarArgs]:
    """Home, passphrase file and writable folders; never a secret value."""
    values = {
        "ZENPROVISION_HOME": args.home,
        "PULUMI_CONFIG_PASSPHRASE_FILE": f"{PASSPHRASE_DIR}/{PASSPHRASE_KEY}",
        "HOME": f"{SCRATCH}/home", "PULUMI_HOME": f"{SCRATCH}/pulumi",
        "PULUMI_SKIP_UPDATE_CHECK": "true", **args.env,
    }
    return [k8s.core.v1.EnvVarArgs(name=name, value=value) for name, value in values.items()]


def container(args: TeardownScheduleArgs) -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        name="teardown", image=args.image, args=list(COMMAND), env=container_env(args),
        resources=k8s.core.v1.ResourceRequirementsArgs(**RESOURCES),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False, read_only_root_filesystem=True, privileged=False,
            run_as_non_root=True, capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"])),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=SCRATCH),
                       k8s.core.v1.VolumeMountArgs(name="passphrase", mount_path=PASSPHRASE_DIR, read_only=True)],
    )


def pod_spec(args: TeardownScheduleArgs) -> k8s.core.v1.PodSpecArgs:
    return k8s.core.v1.PodSpecArgs(
        service_account_name=SERVICE_ACCOUNT, automount_service_account_token=False, restart_policy="Never",
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True, run_as_user=RUN_AS, run_as_group=RUN_AS, fs_group=RUN_AS,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
        containers=[container(args)],
        volumes=[
            k8s.core.v1.VolumeArgs(name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="4Gi")),
            k8s.core.v1.VolumeArgs(name="passphrase", secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=PASSPHRASE_SECRET, default_mode=0o400, optional=False,
                items=[k8s.core.v1.KeyToPathArgs(key=PASSPHRASE_KEY, path=PASSPHRASE_KEY)])),
        ],
    )


def cronjob_spec(args: TeardownScheduleArgs, labels: dict[str, str]) -> k8s.batch.v1.CronJobSpecArgs:
    """Never two runs at once, a missed run skipped, a stuck run killed, one retry."""
    return k8s.batch.v1.CronJobSpecArgs(
        schedule=args.schedule, time_zone="Etc/UTC", concurrency_policy="Forbid",
        starting_deadline_seconds=DEADLINES["starting"], successful_jobs_history_limit=3, failed_jobs_history_limit=3,
        job_template=k8s.batch.v1.JobTemplateSpecArgs(spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=1, active_deadline_seconds=DEADLINES["active"],
            template=k8s.core.v1.PodTemplateSpecArgs(metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                                                     spec=pod_spec(args)))),
    )


class TeardownSchedule(pulumi.ComponentResource):
    """Namespace (restricted pod security, no ingress), service account and the CronJob."""

    def __init__(self, name: str, args: TeardownScheduleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:k8s:TeardownSchedule", name, None, opts)
        require_long_lived(args.labels)
        child = pulumi.ResourceOptions(parent=self)  # the kubernetes provider comes from the parent
        labels = args.labels.k8s_labels()
        namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata={"name": NAMESPACE, "labels": {
            **labels, "pod-security.kubernetes.io/enforce": "restricted"}}, opts=child)
        # the job serves nothing: no pod may connect to it (it reaches out to the cloud APIs only)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-no-ingress", metadata={"name": "deny-all-ingress", "namespace": namespace.metadata["name"],
                                            "labels": labels},
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress"]), opts=child)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account", automount_service_account_token=False, opts=child,
            metadata={"name": SERVICE_ACCOUNT, "namespace": namespace.metadata["name"], "labels": labels,
                      "annotations": args.annotations})
        self.cronjob = k8s.batch.v1.CronJob(
            f"{name}-cronjob", metadata={"name": "teardown-expired-dev-stacks", "namespace": namespace.metadata["name"],
                                         "labels": labels},
            spec=cronjob_spec(args, labels), opts=pulumi.ResourceOptions(parent=self, depends_on=[account]))
        self.register_outputs({"namespace": NAMESPACE})


@dataclass(frozen=True)
class TeardownConfig:
    """The recipe's teardown_* keys, read once: None when teardown_home is empty (the default, off)."""

    home: str
    bucket: str
    prefix: str  # "" for a home at the bucket's root
    schedule: str
    image: str  # "" means the recipe's default image in the stack's registry


def teardown_config(config: pulumi.Config, scheme: str, labels: StackLabels) -> TeardownConfig | None:
    """Checked before any resource is registered: a failed check must leave nothing half-made."""
    home = config.require("teardown_home").strip().rstrip("/")
    if not home:
        return None
    require_long_lived(labels)
    split = split_bucket_url(home, scheme)
    if split is None:  # config validation catches this first; a program run by hand gets the same words
        raise ValueError(f"teardown_home must be a {scheme}://bucket/prefix URL, not {home!r}")
    schedule = config.require("teardown_schedule").strip()
    if not schedule:
        raise ValueError("teardown_schedule is empty; give a cron schedule such as '0 * * * *', "
                         "or turn the schedule off with an empty teardown_home")
    return TeardownConfig(home, *split, schedule, config.require("teardown_image").strip())
