"""A click group that imports a command's module only when that command runs.

``provision stacks`` then pays for the stacks module alone, and ``provision --help`` lists
every command from the table below without importing any of them. The short help kept
here is checked against each command's own docstring by a test, so the two cannot drift.
"""

from __future__ import annotations

import importlib

import click

# name -> (module under zenprovision.cli, attribute, first paragraph of the command's help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "completion": ("completion", "completion_command", "Print the shell completion script for SHELL."),
    "describe": ("catalog_cmds", "describe_command", "Show a recipe's config keys, components and prerequisites."),
    "destroy": ("deploy_cmds", "destroy_command", "Destroy everything stack STACK created, and unregister it."),
    "doctor": ("doctor_cmds", "doctor_command",
               "Exercise every component of STACK, one line per check; exit 1 if any fails."),
    "home": ("home_cmds", "home_group",
             "Show the home in use, or copy this machine's home into a shared one (home push URL)."),
    "kubeconfig": ("kubeconfig_cmds", "kubeconfig_command",
                   "Print or write the kubeconfig of a stack's Kubernetes cluster (tokens are short-lived)."),
    "models": ("run_cmds", "models_command",
               "List the models deployed on STACK's model server, with their endpoints."),
    "new": ("authoring_cmds", "new_command",
            "Create recipe NAME from the template: Pulumi.yaml, program, recipe.yaml, README, tests."),
    "output": ("stack_cmds", "output_command",
               "Print the stack config of STACK, one value of it (KEY), or an export for another tool."),
    "plan": ("deploy_cmds", "plan_command",
             "Show what deploying recipe NAME as stack S would create, update, replace or delete."),
    "policy-pack": ("authoring_cmds", "policy_pack_command",
                    "Print the folder of zenprovision's Pulumi policy pack, for `pulumi preview --policy-pack`."),
    "recipe": ("deploy_cmds", "recipe_command",
               "Deploy recipe NAME as stack S: plan, confirm, apply, write the stack config."),
    "recipe-test": ("authoring_cmds", "recipe_test_command",
                    "Run the conformance suite on recipe NAME under Pulumi mocks; exit 1 on a violation."),
    "recipes": ("catalog_cmds", "recipes_command", "List the recipes: name, cloud, components, engine, description."),
    "refresh": ("deploy_cmds", "refresh_command",
                "Ask every resource of STACK whether it still exists as recorded; report drift."),
    "run": ("run_cmds", "run_command", "Run the pipeline in FILE on STACK."),
    "runs": ("run_cmds", "runs_group", "List pipeline runs (newest first); `provision runs show RUN_ID` for one."),
    "stacks": ("stack_cmds", "stacks_group",
               "List deployed stacks: recipe, engine, env, owner, age, ttl, last operation."),
    "sweep": ("sweep_cmds", "sweep_command",
              "List resources tagged zenprovision:stack whose stack is not registered; --delete removes them."),
    "teardown": ("teardown_cmds", "teardown_command",
                 "Destroy every matching stack (never env prod); exit 1 if any failed."),
    "unlock": ("unlock_cmds", "unlock_command", "Show who holds STACK's lock; --force takes it from a holder that is gone."),
}


class LazyGroup(click.Group):
    """Commands from ``COMMANDS``, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute, _ = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(f"zenprovision.cli.{module}"), attribute), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list as click prints it, from the table: no command module is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self.listed_help(name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def listed_help(self, name: str, limit: int) -> str:
        if name in COMMANDS and name not in self.commands:
            return click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)  # click's own cut
        return self.commands[name].get_short_help_str(limit)
