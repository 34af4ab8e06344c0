"""The Google Cloud APIs a stack uses, enabled by the program itself.

Destroy leaves them enabled (``disable_on_destroy=False``): other workloads of the project
may use them too. Give the returned services to the provider of everything else as
``depends_on``, so nothing is created before its API answers.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

BASE_APIS = (
    "artifactregistry.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "storage.googleapis.com",
)
KMS_API = "cloudkms.googleapis.com"


def enable_apis(project: str, services: tuple[str, ...] | list[str],
                opts: pulumi.ResourceOptions | None = None) -> list[gcp.projects.Service]:
    """One ``projects.Service`` per API, named after it (``api-container``, ...)."""
    return [gcp.projects.Service(f"api-{service.split('.')[0]}", project=project, service=service,
                                 disable_on_destroy=False, disable_dependent_services=False, opts=opts)
            for service in sorted(services)]
