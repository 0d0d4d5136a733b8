"""`policy`: the policy pack run offline over a stack (policies/runner.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from policies import runner

from .app import cli, short_help


@cli.command(short_help=short_help("policy"))
@click.argument("stack", required=False)
@click.option("--config-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A Pulumi.<x>.yaml-like file to run the program with instead of the stack's file.")
@click.option("--policy-config", type=click.Path(dir_okay=False, path_type=Path),
              help="Policy pack config JSON, as for `pulumi preview --policy-pack-config`.")
@click.option("--view", type=click.Choice(runner.VIEWS), default="engine", show_default=True,
              help="engine: resources as the Pulumi CLI hands them to the pack (remote components without "
                   "inputs); program: the program's own inputs for every resource.")
@click.option("--preview", is_flag=True, help="Run as the first preview of a new stack (cloud-computed values unknown).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Print every policy's description.")
def policy(stack: Optional[str], config_file: Optional[Path], policy_config: Optional[Path],
           view: str, preview: bool, as_json: bool, verbose: bool) -> int:
    """The guardrails policy pack over STACK (default dev), as `pulumi preview --policy-pack` runs it.

    Prints PASS or the violations of each policy. Exit 1 on a mandatory violation, 2 when the
    program or the policy config rejects its input.
    """
    return runner.run(stack, config_file, policy_config, as_json, verbose, view, preview)
