"""`diff`: what a change does to a stack, as Markdown for the pull request (components/review)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from components.model import ConfigError
from components.capture import REPO
from components.progress import Progress
from components.review import PlanError, compare, plan_of_file, plan_of_revision, render

from .app import cli, short_help


def _plan(side: str, stack: str, progress: Progress):
    path = Path(side)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        progress.phase(f"planning {side} with the current code")
        return plan_of_file(path if path.is_absolute() else Path.cwd() / path, stack)
    progress.phase(f"checking out {side} and planning it with its own code")
    return plan_of_revision(side, stack)


@cli.command(short_help=short_help("diff"))
@click.argument("old")
@click.argument("new", required=False)
@click.option("--stack", default="dev", show_default=True, help="The stack whose plans are compared.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the Markdown here.")
@click.option("--fail-on-replace", is_flag=True, help="Exit 1 if anything would be replaced or deleted.")
def diff(old: str, new: Optional[str], stack: str, out: Optional[Path], fail_on_replace: bool) -> int:
    """OLD and NEW are git revisions (planned with their own code, e.g. `main`, `HEAD~1`) or stack
    files (planned with the current code); NEW defaults to the working tree's Pulumi.STACK.yaml.

    Prints the resources created / updated / replaced / deleted with the fields that change (and the
    ones forcing a replacement), GPU quota per team and flavor, static pool capacity, NAP limits and
    the monthly cost delta. Exit 2 if either side cannot be planned.
    """
    progress = Progress(f"diff {stack}")
    try:
        before = _plan(old, stack, progress)
        after = _plan(new or str(REPO / f"Pulumi.{stack}.yaml"), stack, progress)
    except (PlanError, ConfigError, FileNotFoundError) as err:
        print(f"Cannot diff: {err}", file=sys.stderr)
        return 2
    progress.phase("comparing the two plans")
    changes = compare(before.resources, after.resources)
    text = render(before, after, changes)
    print(text, end="")
    if out:
        out.write_text(text)
    return 1 if fail_on_replace and (changes.of("replace") or changes.of("delete")) else 0
