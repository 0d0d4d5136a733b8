"""`plan`: the offline plan of a stack (components/plan.py)."""

from __future__ import annotations

from pathlib import Path

import click

from components import plan as offline_plan

from .app import cli, short_help


@cli.command(short_help=short_help("plan"))
@click.argument("stack", default="dev")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=offline_plan.DEFAULT_OUT,
              show_default="build/plan", help="Folder to write <stack>/resources.json and manifests/ into.")
def plan(stack: str, out: Path) -> int:
    """What `pulumi preview` would create for STACK (Pulumi.STACK.yaml), run under Pulumi's mocks.

    Prints the resource tree, counts per type and the GPU capacity table; writes every captured
    resource and every Kubernetes object exactly as it would be applied. A bad config exits 2
    listing every error with its config path; nothing is created.
    """
    return offline_plan.run(stack, out)
