"""r6 repro: what a plain redeploy of an aws-k8s stack recorded by an earlier version with
env 'PROD' now plans, against what that version deployed. Run it with this checkout, then with
the earlier tree first on the path
(git -C /work/main worktree add --detach /tmp/r6a749 a749770; remove it after):

  .venv/bin/python repro/r6_legacy_prod_redeploy.py
  PYTHONPATH=/tmp/r6a749 .venv/bin/python repro/r6_legacy_prod_redeploy.py   # a749770
"""
import zenprovision
from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.schema import resolve
from zenprovision.testing import run_under_mocks

recipe = Catalog().get("aws-k8s")
values = resolve(recipe.config, {"region": "eu-west-1"}, recipe.name)
found = run_under_mocks(recipe.path, values, {"stack": "shop", "recipe": "aws-k8s", "env": "PROD", "owner": "ops"})
print(zenprovision.__file__)
print("subnet zones:", sorted({s.inputs["availabilityZone"] for s in found.of_type("aws:ec2/subnet:Subnet")}))
print("NAT gateways:", len(found.of_type("aws:ec2/natGateway:NatGateway")))
print("flow logs:", len(found.of_type("aws:ec2/flowLog:FlowLog")))
cluster = found.one("aws:eks/cluster:Cluster").inputs
print("cluster encryptionConfig:", bool(cluster.get("encryptionConfig")), "logs:", cluster.get("enabledClusterLogTypes"))
print("node group subnets:", len(found.one("aws:eks/nodeGroup:NodeGroup").inputs["subnetIds"]))
print("bucket forceDestroy:", found.one("aws:s3/bucket:Bucket").inputs["forceDestroy"])
