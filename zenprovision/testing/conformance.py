"""The conformance suite: run a recipe under mocks, in env dev and prod, and apply every rule.

Resources are checked by the policy pack's own functions (``zenprovision.policy``), the
recipe folder and its outputs by the recipe rules (``zenprovision.testing.rules``). Use it
from pytest (``check_recipe_folder(path).ok``), from the CLI (``provision recipe-test NAME``),
or through the ``recipe_conformance`` fixture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenprovision.policy import POLICIES, Resource, Settings, evaluate
from zenprovision.recipes.recipe import Recipe, load_recipe
from zenprovision.recipes.schema import resolve
from zenprovision.testing.program import ProgramRecord, RecordedResource, run_under_mocks
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
            return (f"recipe {self.recipe}: all {len(RULES)} rules and {len(POLICIES)} policies pass "
                    f"({', '.join(self.checked)})")
        lines = [f"recipe {self.recipe}: {len(self.violations)} violation(s)"]
        return "\n".join(lines + [f"  {v}" for v in self.violations])

    def to_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "ok": self.ok, "checked": self.checked,
                "violations": [v.__dict__ for v in self.violations]}

    def add(self, violation: Violation) -> None:
        if violation not in self.violations:
            self.violations.append(violation)


def policy_resource(recorded: RecordedResource) -> Resource:
    """A mock-recorded resource as the policies see it."""
    return Resource(recorded.type, recorded.name, recorded.urn, recorded.inputs,
                    protect=bool(recorded.options.get("protect")),
                    retain_on_delete=bool(recorded.options.get("retain_on_delete")),
                    dependencies=tuple(recorded.dependencies), parent=recorded.parent)


def policy_violations(record: ProgramRecord, labels: dict[str, str], config: dict[str, Any]) -> list[Violation]:
    """Every policy over the custom resources of one mock run, as the pack would judge them."""
    force_destroy = config.get("force_destroy")
    settings = Settings(env=labels.get("env"), labels=dict(labels),
                        force_destroy=None if force_destroy is None else str(force_destroy))
    resources = [policy_resource(r) for r in record.resources if r.custom]
    return [Violation(f.policy, f.resource, f.message) for f in evaluate(resources, settings)]


def check_recipe(recipe: Recipe, config: dict[str, str] | None = None,
                 environments: tuple[str, ...] = ENVIRONMENTS) -> Report:
    """Run ``recipe`` under mocks in env dev and prod (or ``environments``); every rule and policy, each time."""
    given = {**recipe.test_config, **(config or {})}
    values = resolve(recipe.config, given, recipe.name)
    report = Report(recipe.name)
    for env in environments:
        labels = {"stack": f"conformance-{env}", "recipe": recipe.name, "env": env, "owner": "conformance"}
        record = run_under_mocks(recipe.path, values, labels)
        context = Context(recipe, record, labels, values)
        for rule in RULES:
            for violation in rule(context):
                report.add(violation)
        for violation in policy_violations(record, labels, values):
            report.add(violation)
        report.checked.append(f"env {env}: {len(record.resources)} resources")
    return report


def check_recipe_folder(folder: Path, config: dict[str, str] | None = None) -> Report:
    return check_recipe(load_recipe(Path(folder), source="path"), config)
