"""The command group every command module registers on."""

from __future__ import annotations

import click

PROG = "python -m components.cli"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """GPU batch platform on GKE: plan, check and use a stack offline (no cloud, no Pulumi CLI).

    Exit codes: 0 fine, 1 a finding (e.g. a mandatory policy violation), 2 bad input (the config,
    a file or the command line), reported with what to fix.
    """
