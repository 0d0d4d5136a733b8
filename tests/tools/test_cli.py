"""The one CLI (`python -m components.cli`): every command registered, usage errors exit 2.

click's documented behaviour (click.palletsprojects.com, "Exception Handling and Exit Codes"): a
UsageError (unknown command, bad option) exits 2 - the code this project uses for bad input.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import click

import components.cli
from components.cli import app, cli, main
from components.capture import REPO

COMMANDS = {"plan", "policy", "workloads", "explain"}


def test_every_command_module_registers_on_the_group():
    """The group loads a command's module when it is called; each listed module registers its command."""
    assert COMMANDS <= set(app.COMMANDS)
    context = click.Context(cli)
    for name in app.COMMANDS:
        assert cli.get_command(context, name).name == name
    modules = {m.name for m in pkgutil.iter_modules(components.cli.__path__)} - {"app", "stack", "__main__"}
    assert modules == {module for module, _ in app.COMMANDS.values()}


def test_help_and_cost_import_no_pulumi_program_module():
    """`--help` lists every command without importing one; neither it nor `cost` loads the mock runtime's
    program (the GCP and Kubernetes SDKs), which only the commands that run the program need."""
    probe = ("import sys; from components.cli import main; main(sys.argv[1:]); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi_gcp', 'pulumi_kubernetes') "
             "or m.startswith('components.cli.')))")
    for argv, unwanted in ((["--help"], ""), (["cost", "dev"], "pulumi_")):
        result = subprocess.run([sys.executable, "-c", probe, *argv], cwd=REPO, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        loaded = eval(result.stdout.strip().splitlines()[-1])
        if argv == ["--help"]:
            assert loaded == ["components.cli.app"]
        else:
            assert not [m for m in loaded if m.startswith(unwanted)], loaded


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
