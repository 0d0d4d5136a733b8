"""The README is the front door: what it tells a user to write or run must work verbatim.

Other tests pin the README's cost numbers (test_cost), its plan-diff output (test_plan_diff) and its
picture (test_cost_picture). These check the rest: the "Add a team" entry is a valid team of the dev
stack and is the one the shipped example adds; every `components.cli` command line and every
`make` target the README names exists and parses with exactly the options it shows.
"""

from __future__ import annotations

import re
import shlex

import click
import pytest
import yaml

from components.cli import cli
from components.model import parse_platform
from components.offline import REPO
from conftest import PLATFORM_KEY, load_dev_platform_raw

README = (REPO / "README.md").read_text()
ADD_TEAM_EXAMPLE = REPO / "docs" / "examples" / "dev-add-team-e.yaml"


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def _cli_lines() -> list[str]:
    """Every README line (code blocks and inline code) that runs a CLI command, without comments and
    shell redirections."""
    lines = []
    for match in re.finditer(r"(?:\$PY|\.venv/bin/python|python) -m components\.cli ([^`\n#>]*)", README):
        args = match.group(1).strip()
        # A usage synopsis (`diff OLD [NEW] ...`) documents the syntax; it is not a command line.
        if args and not args.startswith("--help") and "[" not in args:
            lines.append(args)
    return sorted(set(lines))


def test_add_a_team_entry_is_valid_and_is_the_shipped_example() -> None:
    block = re.search(r"```yaml\n(.*?)```", _section("Add a team"), re.S).group(1)
    (entry,) = yaml.safe_load(block)
    example_teams = yaml.safe_load(ADD_TEAM_EXAMPLE.read_text())["config"][PLATFORM_KEY]["teams"]
    assert entry == example_teams[-1], "README 'Add a team' differs from docs/examples/dev-add-team-e.yaml"
    raw = load_dev_platform_raw()
    raw["teams"].append(entry)
    platform = parse_platform(raw)  # raises ConfigError (with every problem) if the README's entry is wrong
    assert platform.teams[-1].name == entry["name"]


@pytest.mark.parametrize("args", _cli_lines())
def test_every_cli_line_in_the_readme_parses(args: str, tmp_path, monkeypatch) -> None:
    """click resolves the command and parses its options without running it (make_context does not
    invoke the callback), so a renamed command or option fails here. Paths are the repo's; the user's
    own job file (my-job.yaml) is a stand-in file. A bare command name in prose only has to exist."""
    monkeypatch.chdir(REPO)
    (tmp_path / "my-job.yaml").write_text("{}")
    name, *rest = [str(tmp_path / a) if a == "my-job.yaml" else a for a in shlex.split(args)]
    root = click.Context(cli, info_name="cli")
    command = cli.get_command(root, name)
    assert command is not None, f"README names an unknown command: {name}"
    if rest:
        with command.make_context(name, rest, parent=root):
            pass


def test_readme_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), re.M))
    named = set(re.findall(r"`make ([a-z][a-z-]*)", README)) | set(re.findall(r"^make ([a-z][a-z-]*)", README, re.M))
    assert named, "no make targets found in the README"
    assert named <= targets, f"README names make targets the Makefile lacks: {sorted(named - targets)}"


def test_cli_lines_were_found() -> None:
    """Guard against the extraction silently finding nothing (which would make the test above vacuous)."""
    commands = {shlex.split(a)[0] for a in _cli_lines()}
    assert {"plan", "policy", "workloads", "explain", "cost", "diff"} <= commands
