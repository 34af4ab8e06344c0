"""The recipe rules: what a recipe folder and its outputs must do, beyond its resources.

Rules about resources are policies (``zenprovision.policy``), enforced by Pulumi too; these
three need what only a recipe has: its Pulumi.yaml schema, recipe.yaml, and which outputs
are secret (Pulumi's analyzer sees secrets unwrapped, so it cannot tell).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from zenprovision.recipes.recipe import Recipe
from zenprovision.stacks.config import Components
from zenprovision.stacks.secrets import assert_no_plaintext_secret
from zenprovision.testing.program import ProgramRecord


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


@dataclass(frozen=True)
class Context:
    recipe: Recipe
    record: ProgramRecord
    labels: dict[str, str]
    config: dict[str, Any]


Rule = Callable[[Context], list[Violation]]


def config_schema(ctx: Context) -> list[Violation]:
    found = []
    for key in ctx.recipe.config.values():
        if not key.description.strip():
            found.append(Violation("config-schema", key.name, "has no description"))
    return found


def stack_output(ctx: Context) -> list[Violation]:
    stack = ctx.record.exports.get("stack")
    if not isinstance(stack, dict):
        return [Violation("stack-output", "stack", "the program exports no `stack` output")]
    try:
        components = Components.model_validate(stack)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return [Violation("stack-output", f"stack.{where}", first["msg"])]
    found = []
    exported = {k: v.flavor for k, v in components if v is not None}
    for kind, flavor in ctx.recipe.components.items():
        if exported.get(kind) != flavor:
            found.append(Violation("stack-output", f"stack.{kind}",
                                   f"recipe.yaml declares flavor {flavor!r}, the output has {exported.get(kind)!r}"))
    for kind in set(exported) - set(ctx.recipe.components):
        found.append(Violation("stack-output", f"stack.{kind}", "exported but not declared in recipe.yaml"))
    return found


def no_plaintext_credentials(ctx: Context) -> list[Violation]:
    found = []
    for name, value in ctx.record.exports.items():
        if name in ctx.record.secret_exports:
            continue
        try:
            assert_no_plaintext_secret(value if isinstance(value, dict) else {"value": value}, name)
        except ValueError as exc:
            found.append(Violation("no-plaintext-secrets", f"output {name}", str(exc)))
    return found


RULES: list[Rule] = [config_schema, stack_output, no_plaintext_credentials]
