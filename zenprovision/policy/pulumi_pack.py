"""The policies as pulumi-policy (CrossGuard) objects: what ``pack/__main__.py`` serves.

Each wrapper turns the analyzer's arguments into ``Resource``/``Stack`` and calls the same
plain function the offline evaluator calls. Values a preview cannot know yet arrive as
Pulumi's unknown sentinels, which the policies skip rather than judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from zenprovision.policy import POLICIES
from zenprovision.policy.base import Policy
from zenprovision.policy.model import Resource, Settings, Stack

CONFIG_SCHEMA = {
    "env": {"type": "string", "description": "dev, staging or prod; default: each resource's zenprovision env tag"},
    "labels": {"type": "object", "description": "exact values of the stack, recipe, env and owner tags"},
    "force_destroy": {"type": "string", "enum": ["auto", "true", "false"],
                      "description": "the recipe's force_destroy config"},
}


def plain(value: Any) -> Any:
    """The analyzer's unknown-checking proxies as plain dicts and lists, unknown sentinels kept."""
    if type(value).__name__ in _PROXIES:
        value = value["__target"]  # the proxies hand out their raw target under this key
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


_PROXIES = ("_DictProxy", "_ListProxy")


def _resource(resource_type: str, name: str, urn: str, props: Any, opts: Any, dependencies=(), parent="") -> Resource:
    return Resource(resource_type, name, urn, plain(props), protect=bool(getattr(opts, "protect", False)),
                    retain_on_delete=None, dependencies=tuple(dependencies), parent=parent or "")


def _resource_validation(policy: Policy):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = _resource(args.resource_type, args.name, args.urn, args.props, args.opts,
                             parent=getattr(args.opts, "parent", None))
        if not policy.applies_to(resource):
            return
        for message in policy.check(resource, Settings.from_dict(args.get_config())):
            report_violation(message, None)

    return validate


def _stack_validation(policy: Policy):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = Stack(_resource(r.resource_type, r.name, r.urn, r.props, r.opts,
                                [d.urn for d in r.dependencies], r.parent.urn if r.parent else "")
                      for r in args.resources)
        for resource, message in policy.check(stack, Settings.from_dict(args.get_config())):
            report_violation(message, resource.urn)

    return validate


def to_pulumi(policy: Policy, level: EnforcementLevel = EnforcementLevel.MANDATORY):
    """One zenprovision policy as a pulumi-policy ResourceValidationPolicy or StackValidationPolicy."""
    schema = PolicyConfigSchema({k: CONFIG_SCHEMA[k] for k in policy.config}) if policy.config else None
    cls, validate = ((ResourceValidationPolicy, _resource_validation(policy)) if policy.scope == "resource"
                     else (StackValidationPolicy, _stack_validation(policy)))
    return cls(name=policy.name, description=policy.description, validate=validate, enforcement_level=level,
               config_schema=schema, remediation_steps=policy.why)


def pulumi_policies(level: EnforcementLevel = EnforcementLevel.MANDATORY) -> list:
    return [to_pulumi(policy, level) for policy in POLICIES]
