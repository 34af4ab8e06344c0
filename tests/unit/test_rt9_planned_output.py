"""`provision output STACK --plan RECIPE` of a deployed stack shows the config a redeploy would
write: a redeploy keeps the stack's creation time, so the preview does too."""

from datetime import datetime, timezone

from tests.unit.test_exports import AWS
from zenprovision.stacks import store


def test_a_redeploys_preview_keeps_the_stacks_creation_time(home, cli, fixture_recipes):
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    store.save(AWS.model_copy(update={"name": "c", "recipe": "cloudish", "created_at": created}))
    planned = cli("output", "c", "created_at", "--plan", "cloudish", "-c", "bucket_name=mine")
    assert planned.code == 0, planned.err
    assert planned.out.startswith("2026-01-01T00:00:00"), planned.out


def test_a_new_stacks_preview_is_created_now(home, cli, fixture_recipes):
    planned = cli("output", "c", "created_at", "--plan", "cloudish", "-c", "bucket_name=mine")
    assert planned.code == 0, planned.err
    assert planned.out.startswith(str(datetime.now(timezone.utc).year))
