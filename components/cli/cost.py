"""`cost`: the monthly cost envelope of a stack before it exists (components/cost)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click

from components.cost import cost_json, cost_text
from components.model import ConfigError
from components.stacks import load_stack

from .app import cli, short_help


@cli.command(short_help=short_help("cost"))
@click.argument("stack", default="dev")
@click.option("--config-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A Pulumi.<x>.yaml-like file to price instead of the stack's file.")
@click.option("--json", "as_json", is_flag=True, help="Print the envelope as JSON.")
def cost(stack: str, config_file: Optional[Path], as_json: bool) -> int:
    """What STACK (Pulumi.STACK.yaml) costs per month, from the model and platform/catalog/prices.yaml.

    Idle floor (control plane, system pool at its minimum, reserved pools, boot disks, NAT), burst
    (every pool at its maximum, NAP at its limits), what spot saves over on-demand, and per team the
    cost of its nominal quota and of its borrowing limit per flavor. A machine type or region without
    a price is an UNPRICED line and the totals say they are lower bounds. Exit 2 on a bad config.
    """
    source = str(config_file) if config_file else f"Pulumi.{stack}.yaml"
    try:
        platform = load_stack(stack, config_file).platform
        report = json.dumps(cost_json(platform, stack), indent=2) if as_json else "\n".join(cost_text(platform, stack))
    except (ConfigError, FileNotFoundError) as err:  # the stack's config, or the price catalog itself
        print(f"Cannot price {source}:\n{err}", file=sys.stderr)
        return 2
    print(report)
    return 0
