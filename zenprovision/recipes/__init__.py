"""Stack recipes: Pulumi programs in folders, found by the catalog."""

from zenprovision.recipes.catalog import Catalog
from zenprovision.recipes.recipe import Recipe, load_recipe
from zenprovision.recipes.schema import ConfigKey

__all__ = ["Catalog", "ConfigKey", "Recipe", "load_recipe"]
