"""One command line for everything the project does besides `pulumi up`: `python -m components.cli`.

Every module of this package is imported here; a command module registers its command(s) on the
group `app.cli` when imported, so adding a command is adding a module (plan, policy, workloads,
explain; cost and diff by their owners). `app` (the group) and `stack` (shared loading) register none. Commands return their exit code:
0 fine, 1 a finding (a mandatory policy violation, a job that would not run), 2 bad input.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Optional, Sequence

import click

from .app import PROG, cli

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("app", "__main__"):
        importlib.import_module(f"{__name__}.{_module.name}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI and return its exit code (usage errors exit 2, as click does)."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name=PROG, standalone_mode=False)
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return code or 0


__all__ = ["cli", "main"]
