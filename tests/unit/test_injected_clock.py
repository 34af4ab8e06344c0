"""``$ZENPROVISION_NOW`` asks "what if it were then?" of expiry and ages; what is recorded stays the real time.

A deploy or a what-if teardown (``--expired --yes``) under it still happened now: a creation time
from it would move the stack's expiry by as much, and the history would say the stack was
destroyed in 2099.
"""

import json
from datetime import datetime, timezone

from zenprovision.stacks import registry, store

WHAT_IF = {"ZENPROVISION_NOW": "2099-01-01T00:00:00+00:00"}


def _expired(cli, env=None) -> set[str]:
    result = cli("stacks", "--expired", "--json", env=env)
    assert result.code == 0, result.err
    return {row["name"] for row in json.loads(result.out)}


def test_a_deploy_and_a_what_if_teardown_record_the_real_time(home, cli, fixture_recipes, tmp_path):
    before = datetime.now(timezone.utc)
    deployed = cli("recipe", "files", "--stack", "w1", "-c", f"dir={tmp_path / 'w1'}", "-c", "files=a",
                   "--ttl", "1h", "--yes", env=WHAT_IF)
    assert deployed.code == 0, deployed.err
    record, config = registry.load("w1"), store.load("w1")
    deploy = record.last
    assert before <= record.created_at <= deploy.started <= deploy.ended <= datetime.now(timezone.utc)
    assert config.created_at == record.created_at
    assert _expired(cli) == set() and _expired(cli, WHAT_IF) == {"w1"}  # an hour from now, not from 2099

    torn = cli("teardown", "--env", "dev", "--expired", "--yes", "--json", env=WHAT_IF)
    assert torn.code == 0 and [o["result"] for o in json.loads(torn.out)] == ["destroyed"], torn.err
    destroy = registry.history("w1")[-1].operations[-1]
    assert destroy.op == "destroy" and before <= destroy.started <= destroy.ended <= datetime.now(timezone.utc)
    [archived] = (home / "history" / "w1").glob("*.json")
    assert archived.name == registry.history_key("w1", destroy.ended).rpartition("/")[2]
