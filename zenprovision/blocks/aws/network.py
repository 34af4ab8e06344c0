"""A VPC with public subnets (load balancers, one NAT gateway) and private subnets (nodes).

Or an existing VPC: pass its subnet ids and nothing is created.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from zenprovision.blocks.labels import StackLabels


@dataclass
class AwsNetworkArgs:
    labels: StackLabels
    availability_zones: list[str]
    cidr: str = "10.0.0.0/16"
    existing_vpc_id: str = ""
    existing_public_subnet_ids: list[str] = field(default_factory=list)
    existing_private_subnet_ids: list[str] = field(default_factory=list)


class AwsNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list
    private_subnet_ids: list

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("zenprovision:aws:Network", name, None, opts)
        if args.existing_vpc_id:
            self.vpc_id = pulumi.Output.from_input(args.existing_vpc_id)
            self.public_subnet_ids = list(args.existing_public_subnet_ids)
            self.private_subnet_ids = list(args.existing_private_subnet_ids)
        else:
            self._create(name, args)
        self.register_outputs({"vpc_id": self.vpc_id})

    def _create(self, name: str, args: AwsNetworkArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        tags = args.labels.aws_tags
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags=tags(Name=args.labels.resource_name("vpc")), opts=child)
        self.vpc_id = vpc.id
        blocks = list(ipaddress.ip_network(args.cidr).subnets(new_prefix=20))
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags(), opts=child)
        public_table = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=tags(), opts=child,
                                          routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}])
        public, private = [], []
        for index, zone in enumerate(args.availability_zones):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{index}", vpc_id=vpc.id, cidr_block=str(blocks[index]), availability_zone=zone,
                map_public_ip_on_launch=False, tags=tags(**{"kubernetes.io/role/elb": "1"}), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{index}", subnet_id=subnet.id,
                                          route_table_id=public_table.id, opts=child)
            public.append(subnet)
        address = aws.ec2.Eip(f"{name}-nat", domain="vpc", tags=tags(), opts=child)
        nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=address.id, subnet_id=public[0].id, tags=tags(),
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))
        private_table = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, tags=tags(), opts=child,
                                           routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}])
        for index, zone in enumerate(args.availability_zones):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=str(blocks[8 + index]), availability_zone=zone,
                map_public_ip_on_launch=False, tags=tags(**{"kubernetes.io/role/internal-elb": "1"}), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id,
                                          route_table_id=private_table.id, opts=child)
            private.append(subnet)
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
