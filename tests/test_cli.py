"""The one CLI (`python -m components.cli`): every command registered, usage errors exit 2.

click's documented behaviour (click.palletsprojects.com, "Exception Handling and Exit Codes"): a
UsageError (unknown command, bad option) exits 2 - the code this project uses for bad input.
"""

from __future__ import annotations

import subprocess
import sys

from components.cli import cli, main
from components.offline import REPO

COMMANDS = {"plan", "policy", "workloads", "explain"}


def test_every_command_module_registers_on_the_group():
    assert COMMANDS <= set(cli.commands)


def test_help_as_the_user_runs_it_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "components.cli", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split("Commands:", 1)[1]
    for command in COMMANDS:
        assert f"  {command} " in listed


def test_unknown_command_and_bad_option_exit_2(capsys):
    assert main(["no-such-command"]) == 2
    assert "No such command 'no-such-command'" in capsys.readouterr().err
    assert main(["plan", "--no-such-option"]) == 2
    assert "No such option '--no-such-option'" in capsys.readouterr().err


def test_help_of_a_command_exits_0(capsys):
    assert main(["policy", "--help"]) == 0
    assert "--policy-config" in capsys.readouterr().out
