"""One command line for everything the project does besides `pulumi up`: `python -m components.cli`.

Each command is a module of this package that registers it on the group `app.cli` when imported; the
group imports it when the command is called (app.COMMANDS: name, module, one-line help), so adding a
command is adding a module and its row. `stack` (shared loading) registers none. Commands return their
exit code: 0 fine, 1 a finding (a mandatory policy violation, a job that would not run), 2 bad input.
"""

from __future__ import annotations

from typing import Optional, Sequence

import click

from .app import PROG, cli


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
    except OSError as err:  # a file or folder the user named (e.g. --out) cannot be written or read
        where = err.filename or "a file"
        click.echo(f"{where}: {err.strerror or err} (fix: name a path you can write, e.g. --out build/...)", err=True)
        return 2
    return code or 0


__all__ = ["cli", "main"]
