"""The conformance suite: run a recipe under mocks, in env dev and prod, and apply every rule.

Use it from pytest (``check_recipe_folder(path).ok``), from the CLI
(``provision recipe-test NAME``), or through the ``recipe_conformance`` fixture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenprovision.recipes.recipe import Recipe, load_recipe
from zenprovision.recipes.schema import resolve
from zenprovision.testing.program import run_under_mocks
from zenprovision.testing.rules import RULES, Context, Violation

ENVIRONMENTS = ("dev", "prod")


@dataclass
class Report:
    recipe: str
    violations: list[Violation] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        if self.ok:
            return f"recipe {self.recipe}: all {len(RULES)} rules pass ({', '.join(self.checked)})"
        lines = [f"recipe {self.recipe}: {len(self.violations)} violation(s)"]
        return "\n".join(lines + [f"  {v}" for v in self.violations])

    def to_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "ok": self.ok, "checked": self.checked,
                "violations": [v.__dict__ for v in self.violations]}


def check_recipe(recipe: Recipe, config: dict[str, str] | None = None) -> Report:
    """Run ``recipe`` under mocks in env dev and prod; every rule, both times."""
    given = {**recipe.test_config, **(config or {})}
    values = resolve(recipe.config, given, recipe.name)
    report = Report(recipe.name)
    for env in ENVIRONMENTS:
        labels = {"stack": f"conformance-{env}", "recipe": recipe.name, "env": env, "owner": "conformance"}
        record = run_under_mocks(recipe.path, values, labels)
        context = Context(recipe, record, labels, values)
        for rule in RULES:
            for violation in rule(context):
                if violation not in report.violations:
                    report.violations.append(violation)
        report.checked.append(f"env {env}: {len(record.resources)} resources")
    return report


def check_recipe_folder(folder: Path, config: dict[str, str] | None = None) -> Report:
    return check_recipe(load_recipe(Path(folder), source="path"), config)
