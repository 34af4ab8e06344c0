"""A VPC with public subnets (load balancers, NAT) and private subnets (nodes, control plane).

Or an existing VPC: pass its subnet ids and nothing is created. The VPC's default security
group is emptied (CIS AWS 5.4); prod adds one NAT gateway per zone and VPC flow logs.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.labels import StackLabels

MAX_ZONES = 8  # the VPC block is cut in 16: 8 public slots, then 8 private ones


@dataclass
class AwsNetworkArgs:
    labels: StackLabels
    availability_zones: list[str]
    cidr: str = "10.0.0.0/16"
    existing_vpc_id: str = ""
    existing_public_subnet_ids: list[str] = field(default_factory=list)
    existing_private_subnet_ids: list[str] = field(default_factory=list)
    nat_per_zone: bool = False  # one NAT gateway per zone: no zone depends on another's NAT
    flow_logs: bool = False  # VPC flow logs to CloudWatch Logs


def subnet_blocks(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(public, private) subnet blocks: the VPC cut into 16 equal parts (a /16 into /20s)."""
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        raise ValueError(f"vpc_cidr {cidr!r} is not a network block such as 10.0.0.0/16") from None
    if not 16 <= network.prefixlen <= 24 or network.version != 4:
        raise ValueError(f"vpc_cidr {cidr!r} must be an IPv4 block from /16 to /24 (EKS needs room for pod IPs)")
    if not 1 <= zones <= MAX_ZONES:
        raise ValueError(f"availability_zones: give 1 to {MAX_ZONES} zones, not {zones}")
    parts = [str(block) for block in network.subnets(prefixlen_diff=4)]
    return parts[:zones], parts[MAX_ZONES:MAX_ZONES + zones]


def available_zones(region: str, provider: aws.Provider, count: int) -> list[str]:
    """The first ``count`` of the region's available zones, asked of AWS, never guessed.

    Zone names such as ``<region>a`` are not guaranteed to exist for an account (and some
    are opt-in local zones), so they are looked up. An offline plan has no cloud to ask:
    there the zones are named for what they are.
    """
    found = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=provider))
    if found.names:
        return sorted(found.names)[:count]
    if pulumi.runtime.is_dry_run():
        return [f"<{region} available zone {index + 1}>" for index in range(count)]
    raise ValueError(f"region {region} reports no available zones; set availability_zones")


def check_existing(args: AwsNetworkArgs) -> None:
    """An existing VPC needs both subnet lists, or the cluster would get no subnets."""
    if not args.existing_private_subnet_ids or not args.existing_public_subnet_ids:
        raise ValueError("vpc_id needs public_subnet_ids and private_subnet_ids "
                         "(e.g. -c public_subnet_ids=subnet-a,subnet-b -c private_subnet_ids=subnet-c,subnet-d)")


class AwsNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list
    private_subnet_ids: list

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:Network", name, None, opts)
        if args.existing_vpc_id:
            check_existing(args)
            self.vpc_id = pulumi.Output.from_input(args.existing_vpc_id)
            self.public_subnet_ids = list(args.existing_public_subnet_ids)
            self.private_subnet_ids = list(args.existing_private_subnet_ids)
        else:
            self._create(name, args)
        self.register_outputs({"vpc_id": self.vpc_id})

    def _create(self, name: str, args: AwsNetworkArgs) -> None:
        public_blocks, private_blocks = subnet_blocks(args.cidr, len(args.availability_zones))
        child = pulumi.ResourceOptions(parent=self)
        tags = args.labels.aws_tags
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags=tags(Name=args.labels.resource_name("vpc")), opts=child)
        self.vpc_id = vpc.id
        # No ingress, no egress: nothing may use the default group by accident.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags=tags(),
                                     opts=child)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags(), opts=child)
        public_table = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=tags(), opts=child,
                                          routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}])
        public = []
        for index, zone in enumerate(args.availability_zones):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{index}", vpc_id=vpc.id, cidr_block=public_blocks[index], availability_zone=zone,
                map_public_ip_on_launch=False, tags=tags(**{"kubernetes.io/role/elb": "1"}), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{index}", subnet_id=subnet.id,
                                          route_table_id=public_table.id, opts=child)
            public.append(subnet)
        nats = [self._nat(f"{name}-nat" if i == 0 else f"{name}-nat-{i}", subnet, gateway, tags)
                for i, subnet in enumerate(public if args.nat_per_zone else public[:1])]
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = self._private(name, args, vpc, private_blocks, nats)
        if args.flow_logs:
            self._flow_logs(name, args.labels, vpc)

    def _nat(self, name: str, subnet: aws.ec2.Subnet, gateway: aws.ec2.InternetGateway, tags) -> aws.ec2.NatGateway:
        address = aws.ec2.Eip(name, domain="vpc", tags=tags(), opts=pulumi.ResourceOptions(parent=self))
        return aws.ec2.NatGateway(name, allocation_id=address.id, subnet_id=subnet.id, tags=tags(),
                                  opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))

    def _private(self, name: str, args: AwsNetworkArgs, vpc: aws.ec2.Vpc, blocks: list[str], nats: list) -> list:
        """Private subnets, each routed through its zone's NAT (or the one NAT)."""
        child = pulumi.ResourceOptions(parent=self)
        tags = args.labels.aws_tags
        tables = [aws.ec2.RouteTable(f"{name}-private" if len(nats) == 1 else f"{name}-private-{index}",
                                     vpc_id=vpc.id, tags=tags(), opts=child,
                                     routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}])
                  for index, nat in enumerate(nats)]
        ids = []
        for index, zone in enumerate(args.availability_zones):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=blocks[index], availability_zone=zone,
                map_public_ip_on_launch=False, tags=tags(**{"kubernetes.io/role/internal-elb": "1"}), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id,
                                          route_table_id=tables[index if len(tables) > 1 else 0].id, opts=child)
            ids.append(subnet.id)
        return ids

    def _flow_logs(self, name: str, labels: StackLabels, vpc: aws.ec2.Vpc) -> None:
        """Every accepted and rejected flow, kept 90 days in CloudWatch Logs."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", name=f"/zenprovision/{labels.resource_name('flow-logs')}",
                                        retention_in_days=90, tags=labels.aws_tags(), opts=child)
        role = aws.iam.Role(f"{name}-flow-logs", tags=labels.aws_tags(), opts=child, assume_role_policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}}]}))
        aws.iam.RolePolicy(f"{name}-flow-logs", role=role.id, opts=child, policy=group.arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": [arn, f"{arn}:*"], "Action": [
                "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]}]})))
        aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                        log_destination=group.arn, iam_role_arn=role.arn, tags=labels.aws_tags(), opts=child)
