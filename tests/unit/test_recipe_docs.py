"""Every recipe has a docs page naming every config key."""

from pathlib import Path

import pytest

from zenprovision.recipes.catalog import Catalog

DOCS = Path(__file__).parents[2] / "docs" / "recipes"


@pytest.mark.parametrize("name", ["local", "aws-k8s", "gcp-k8s"])
def test_recipe_page_documents_every_key(name, monkeypatch):
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    page = (DOCS / f"{name}.md").read_text()
    for key in Catalog().get(name).config:
        assert f"| `{key}` |" in page, f"docs/recipes/{name}.md lacks {key}"
