"""The command group every command module registers on, loading each command's module only when needed.

A command's module imports what the command needs (a plan needs the Pulumi SDKs and every renderer;
`cost` only the model), so `--help` and a light command do not pay for the heavy ones: the group
lists its commands from COMMANDS and imports a module when its command is called.
"""

from __future__ import annotations

import importlib

import click

PROG = "python -m components.cli"

# command -> (module of this package that registers it, the one line `--help` shows for it)
COMMANDS = {
    "cost": ("cost", "Monthly cost: idle floor, burst, per-team quota cost, spot saving, budgets."),
    "diff": ("diff", "Compare the offline plans of two revisions or stack files (Markdown)."),
    "explain": ("explain", "Why a Job/JobSet would be admitted, pending or rejected, and the fix."),
    "plan": ("plan", "Offline plan of a stack (resources, manifests, capacity)."),
    "policy": ("policy", "Policy pack over a stack, as `pulumi preview` runs it."),
    "workloads": ("workloads", "Ready-to-apply team workloads (Jobs, JobSets) from a stack's model."),
}


class LazyGroup(click.Group):
    """click's documented way to load subcommands lazily (click.palletsprojects.com/en/stable/complex/,
    "Lazily Loading Subcommands": override list_commands and get_command); the listing comes from the
    table, so `--help` imports no command module."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            importlib.import_module(f"{__package__}.{COMMANDS[name][0]}")
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """GPU batch platform on GKE: plan, check and use a stack offline (no cloud, no Pulumi CLI).

    Exit codes: 0 fine, 1 a finding (e.g. a mandatory policy violation), 2 bad input (the config,
    a file or the command line), reported with what to fix.
    """


def short_help(name: str) -> str:
    """The line COMMANDS gives `name`, for its module's decorator (one spelling of each)."""
    return COMMANDS[name][1]
