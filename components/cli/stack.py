"""What several commands share: a stack's typed model, or a mock run of the real program, with
bad input reported the same way everywhere (the config path and the fix, exit 2)."""

from __future__ import annotations

import click

from components.model import ConfigError, Platform, parse_platform
from components.offline import PROJECT, Capture, run_stack, stack_config


class BadInput(click.ClickException):
    """Exit 2 with the message: the command line, a file or the config is wrong."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def platform_of(stack: str) -> Platform:
    try:
        config = stack_config(stack)
        return parse_platform(config.get(f"{PROJECT}:platform"), f"Pulumi.{stack}.yaml")
    except (ConfigError, FileNotFoundError) as err:
        raise BadInput(str(err)) from None


def capture_of(stack: str) -> Capture:
    try:
        return run_stack(stack)
    except (ConfigError, FileNotFoundError) as err:
        raise BadInput(str(err)) from None
