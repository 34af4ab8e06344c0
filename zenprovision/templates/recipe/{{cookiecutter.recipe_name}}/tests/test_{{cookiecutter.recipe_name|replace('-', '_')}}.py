"""The zenprovision conformance suite, run on this recipe under Pulumi mocks."""

from pathlib import Path

from zenprovision.testing.conformance import check_recipe_folder

RECIPE = Path(__file__).resolve().parents[1]


def test_recipe_passes_the_conformance_suite():
    report = check_recipe_folder(RECIPE)
    assert report.ok, report.describe()
