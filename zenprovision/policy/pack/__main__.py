"""The zenprovision policy pack: ``pulumi preview --policy-pack <this folder>``.

Every policy is mandatory; set one to advisory or disabled with ``--policy-pack-config``
(``{"s3-bucket-tls-only": "advisory"}``). The policies themselves live in
``zenprovision.policy`` as plain functions, so the offline plan and ``provision recipe-test``
check exactly what this pack enforces.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from zenprovision.policy import PACK_NAME
from zenprovision.policy.pulumi_pack import pulumi_policies

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY,
           policies=pulumi_policies(EnforcementLevel.MANDATORY))
