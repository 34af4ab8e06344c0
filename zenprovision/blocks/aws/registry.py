"""An ECR repository for pipeline images: scanned on push, untagged images expire."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.labels import StackLabels

UNTAGGED_EXPIRY_POLICY = json.dumps({
    "rules": [{
        "rulePriority": 1,
        "description": "expire untagged images after 14 days",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
        "action": {"type": "expire"},
    }]
})


@dataclass
class EcrRegistryArgs:
    labels: StackLabels
    force_delete: bool


class EcrRegistry(pulumi.ComponentResource):
    repository: aws.ecr.Repository

    def __init__(self, name: str, args: EcrRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:EcrRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.labels.resource_name("pipelines"),
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="MUTABLE",
            encryption_configurations=[{"encryption_type": "AES256"}],
            force_delete=args.force_delete,
            tags=args.labels.aws_tags(),
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle", repository=self.repository.name, policy=UNTAGGED_EXPIRY_POLICY, opts=child
        )
        self.register_outputs({"repository_url": self.repository.repository_url})
