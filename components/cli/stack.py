"""What several commands share: a stack loaded once (components.capture.load_stack), its typed model,
or a mock run of the real program, with bad input reported the same way everywhere (the config path
and the fix, exit 2) and what the program logs printed once."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from components.model import ConfigError, Platform
from components.capture import Capture, Stack, load_stack, run_stack


class BadInput(click.ClickException):
    """Exit 2 with the message: the command line, a file or the config is wrong."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def stack_of(stack: Optional[str], config_file: Optional[Path] = None) -> Stack:
    try:
        return load_stack(stack, config_file)
    except (ConfigError, FileNotFoundError) as err:
        raise BadInput(str(err)) from None


def platform_of(stack: Stack) -> Platform:
    try:
        return stack.platform
    except ConfigError as err:
        raise BadInput(str(err)) from None


def capture_of(stack: Stack) -> Capture:
    try:
        capture = run_stack(stack)
    except (ConfigError, FileNotFoundError) as err:
        raise BadInput(str(err)) from None
    echo_log(capture)
    return capture


def echo_log(capture: Capture) -> None:
    """What the program logged (e.g. an unreachable endpoint), once, on stderr."""
    for severity, message in capture.log:
        click.echo(f"{severity}: {message}", err=True)
