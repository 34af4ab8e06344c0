"""Building-block helpers that need no Pulumi program: names, config values, KServe charts."""

from __future__ import annotations

import pytest

from zenprovision.blocks.aws.network import subnet_blocks
from zenprovision.blocks.kubernetes import KServeArgs, kserve_chart, kserve_values
from zenprovision.blocks.labels import StackLabels
from zenprovision.blocks.options import cidrs, force_destroy, prod_default


def labels(stack: str, env: str = "dev") -> StackLabels:
    return StackLabels(stack=stack, recipe="aws-k8s", env=env, owner="ana")


def test_long_stack_names_never_truncate_to_the_same_cloud_name():
    one, two = labels("recommendations-production-eu-west-1-alpha"), labels("recommendations-production-eu-west-1-beta")
    for suffix, limit in (("artifacts-", 37), ("steps", 30), ("gke", 40), ("pipelines", 63)):
        a, b = one.resource_name(suffix, limit=limit), two.resource_name(suffix, limit=limit)
        assert a != b and len(a) <= limit and len(b) <= limit, (suffix, a, b)
        assert a == one.resource_name(suffix, limit=limit)  # stable across runs
    assert labels("dev").resource_name("eks", limit=100) == "zp-dev-eks"  # short names unchanged


def test_env_defaults_and_tri_state_values():
    assert force_destroy("auto", labels("s", "dev")) is True and force_destroy("auto", labels("s", "prod")) is False
    assert prod_default("flow_logs", "auto", labels("s", "prod")) is True
    assert prod_default("flow_logs", "auto", labels("s", "staging")) is False
    assert prod_default("flow_logs", " TRUE ", labels("s", "dev")) is True
    with pytest.raises(ValueError, match="flow_logs must be true, false or auto"):
        prod_default("flow_logs", "yes please", labels("s", "dev"))


def test_allowed_ranges_are_cidrs_and_never_the_whole_internet():
    assert cidrs("api_allowed_cidrs", ["203.0.113.7", "10.0.0.0/8"]) == ["203.0.113.7/32", "10.0.0.0/8"]
    with pytest.raises(ValueError, match="whole internet"):
        cidrs("api_allowed_cidrs", ["0.0.0.0/0"])
    with pytest.raises(ValueError, match="is not a CIDR block"):
        cidrs("api_allowed_cidrs", ["office"])


def test_a_16_keeps_the_subnet_layout_existing_stacks_have():
    assert subnet_blocks("10.0.0.0/16", 2) == (["10.0.0.0/20", "10.0.16.0/20"], ["10.0.128.0/20", "10.0.144.0/20"])
    public, private = subnet_blocks("10.1.0.0/24", 8)
    assert len(set(public + private)) == 16
    with pytest.raises(ValueError, match="1 to 8 zones"):
        subnet_blocks("10.0.0.0/16", 9)


def test_kserve_charts_and_mode_follow_the_version():
    assert kserve_chart("v0.20.0").endswith("/kserve-resources") and kserve_chart("v0.16.1").endswith("/kserve")
    assert kserve_values(KServeArgs("v0.14.1"))["kserve"]["controller"]["deploymentMode"] == "RawDeployment"
    exposed = kserve_values(KServeArgs(ingress_class="alb"))["kserve"]["controller"]
    assert exposed == {"deploymentMode": "Standard",
                       "gateway": {"disableIngressCreation": False, "ingressGateway": {"className": "alb"}}}
