"""An Artifact Registry Docker repository; untagged images are cleaned up after 14 days."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from zenprovision.blocks.labels import StackLabels


@dataclass
class ArtifactRegistryArgs:
    labels: StackLabels
    project: str
    location: str


class ArtifactRegistry(pulumi.ComponentResource):
    repository: gcp.artifactregistry.Repository
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:gcp:ArtifactRegistry", name, None, opts)
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-repository",
            repository_id=args.labels.resource_name("pipelines"),
            project=args.project,
            location=args.location,
            format="DOCKER",
            cleanup_policies=[{"id": "expire-untagged", "action": "DELETE",
                               "condition": {"tag_state": "UNTAGGED", "older_than": "1209600s"}}],
            labels=args.labels.gcp_labels(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.uri = pulumi.Output.concat(args.location, "-docker.pkg.dev/", args.project, "/",
                                        self.repository.repository_id)
        self.register_outputs({"uri": self.uri})
