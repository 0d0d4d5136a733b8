"""The README is the front door and docs/*.md the rest: what they tell a user to write or run must work verbatim.

Other tests pin the cost numbers (test_cost), the plan-diff output (test_plan_diff), the picture
(test_cost_picture) and the generated config reference (test_config_reference). These check the
rest: the README's "Add a team" entry is a valid team of the dev stack and is the one the shipped
example adds; its GPU quota table is what the dev stack runs at burst; every `components.cli`
command line and every `make` target the README or a doc names exists and parses with exactly the
options it shows; every repository path and relative link they name exists.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from pathlib import Path

import click
import pytest
import yaml

from components.cli import cli
from components.model import parse_platform
from components.model.capacity import nap_limits
from components.model.flavors import flavors
from components.capture import REPO
from conftest import PLATFORM_KEY, load_dev_platform_raw

README = (REPO / "README.md").read_text()
DOCS = {path: path.read_text() for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]}
ADD_TEAM_EXAMPLE = REPO / "docs" / "examples" / "dev-add-team-e.yaml"
# The user's own files the docs name, stood in for by what `workloads` renders (team, kind).
STAND_INS = {"my-job.yaml": ("team-a", "high"), "pipeline.yaml": ("team-d", "pipeline")}


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def _cli_lines() -> list[str]:
    """Every line of the README and docs/*.md (code blocks and inline code) that runs a CLI command,
    without comments and shell redirections."""
    lines = []
    text = "\n".join(DOCS.values())
    for match in re.finditer(r"(?:\$PY|\.venv/bin/python|python) -m components\.cli ([^`\n#>]*)", text):
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
def test_every_cli_line_in_the_readme_and_docs_parses(args: str, tmp_path, monkeypatch) -> None:
    """click resolves the command and parses its options without running it (make_context does not
    invoke the callback), so a renamed command or option fails here. Paths are the repo's; the user's
    own files (STAND_INS) are stand-in files. A bare command name in prose only has to exist."""
    monkeypatch.chdir(REPO)
    for stand_in in STAND_INS:
        (tmp_path / stand_in).write_text("{}")
    name, *rest = [str(tmp_path / a) if a in STAND_INS else a for a in shlex.split(args)]
    root = click.Context(cli, info_name="cli")
    command = cli.get_command(root, name)
    assert command is not None, f"README or docs/*.md name an unknown command: {name}"
    if rest:
        with command.make_context(name, rest, parent=root):
            pass


def test_readme_and_docs_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), re.M))
    text = "\n".join(DOCS.values())
    named = set(re.findall(r"`make ([a-z][a-z-]*)", text)) | set(re.findall(r"^make ([a-z][a-z-]*)", text, re.M))
    assert {"plan", "test"} <= named, "the README's two commands were not found"
    assert named <= targets, f"README or docs/*.md name make targets the Makefile lacks: {sorted(named - targets)}"


# Paths a user's own run creates (not in the repository).
CREATED_BY_USER = {"policies/venv"}


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)}


@pytest.mark.parametrize("doc", list(DOCS), ids=lambda p: str(p.relative_to(REPO)))
def test_every_path_and_link_a_doc_names_exists(doc: Path) -> None:
    """A renamed module, moved file or retitled section breaks the docs silently; here it fails."""
    text = DOCS[doc]
    missing = []
    for path in re.findall(r"`((?:components|platform|policies|tests|bench|docs)/[^`\s<]*)`", text):
        path = path.rstrip(".,:;)")
        if path not in CREATED_BY_USER and not list(REPO.glob(path)):
            missing.append(path)
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", prose):
        if target.startswith(("http://", "https://")):
            continue
        file = (doc.parent / target).resolve() if target else doc
        if not file.exists():
            missing.append(target)
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text()):
            missing.append(f"{target}#{anchor}")
    assert not missing, f"{doc.relative_to(REPO)} names what does not exist: {missing}"


def test_readme_gpu_quota_is_what_dev_runs_at_burst() -> None:
    """The README's GPU quota table: per accelerator and quota kind, the GPUs of every dev pool and NAP
    shape at its maximum (reserved and on-demand pools draw on the same on-demand quota)."""
    platform = parse_platform(load_dev_platform_raw())
    names = {"nvidia-l4": "NVIDIA L4", "nvidia-tesla-a100": "NVIDIA A100 40GB"}
    kinds: dict[tuple[str, str], list] = defaultdict(list)
    for flavor in flavors(platform).values():
        spot = flavor.capacity == "spot" or (flavor.is_nap and flavor.source.spot)
        kind = "spot" if spot else "dws" if flavor.capacity == "dws" else "on-demand"
        kinds[(flavor.accelerator, kind)].append(flavor)
    section = _section("What `pulumi up` will cost")
    for (accelerator, _), members in kinds.items():
        row = next((line for line in section.splitlines()
                    if line.startswith(f"| {sum(f.gpus for f in members)} {names[accelerator]} |")), None)
        assert row, f"README GPU quota lacks {sum(f.gpus for f in members)} {names[accelerator]} for {[f.name for f in members]}"
        assert all(f"`{f.name}`" in row for f in members), (row, [f.name for f in members])
    limits = nap_limits(platform).gpus
    assert f"{limits['nvidia-l4']} L4 and {limits['nvidia-tesla-a100']} A100 in all" in section


# Commands cheap enough to run for real on the suite's cached capture (plan, policy and diff run the whole
# program, or git worktrees; they are covered by their own tests).
RUN = ("explain", "workloads", "cost")


@pytest.mark.parametrize("args", [a for a in _cli_lines() if shlex.split(a)[0] in RUN])
def test_every_explain_workloads_and_cost_line_runs(args: str, tmp_path, monkeypatch, capsys) -> None:
    """Run verbatim on the dev stack (my-job.yaml: the high job `workloads` renders): a wrong option
    value (an old `--used` form, an unknown team or kind) exits 2 here, where parsing alone passes."""
    import components.cli.stack as cli_stack
    from components.cli import main
    from conftest import capture_of

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(cli_stack, "run_stack", lambda stack: capture_of(stack.config, stack.name))
    for stand_in, (team, kind) in STAND_INS.items():
        assert main(["workloads", "dev", "--team", team, "--kind", kind]) == 0
        (tmp_path / stand_in).write_text(capsys.readouterr().out)
    argv = [str(tmp_path / a) if a in STAND_INS else a for a in shlex.split(args)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1) and "Traceback" not in err, f"{args}: exit {code}\n{err}"


def test_cli_lines_were_found() -> None:
    """Guard against the extraction silently finding nothing (which would make the test above vacuous)."""
    commands = {shlex.split(a)[0] for a in _cli_lines()}
    assert {"plan", "policy", "workloads", "explain", "cost", "diff"} <= commands


@pytest.mark.parametrize("args", [a for a in _cli_lines() if shlex.split(a)[0] == "plan"])
def test_every_plan_line_runs(args: str, tmp_path, monkeypatch, capsys) -> None:
    """Run verbatim, the fleet's two stacks included (docs/operating.md "Scaling out to several regions"), on
    the suite's cached capture of that stack; the plan is written under a temporary directory."""
    import components.plan as plan_module
    from components.cli import main
    from components.cli.plan import plan
    from conftest import capture_of

    out_option = next(p for p in plan.params if p.name == "out")
    monkeypatch.setattr(out_option, "default", tmp_path / "build" / "plan")  # not the checkout's build/plan
    monkeypatch.setattr(plan_module, "run_stack", lambda stack: capture_of(stack.config, stack.name))
    code = main(shlex.split(args))
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err, f"{args}: exit {code}\n{err}"
    stack = (shlex.split(args)[1:] or ["dev"])[0]
    assert (tmp_path / "build" / "plan" / stack / "resources.json").exists()
    assert f"under {tmp_path / 'build' / 'plan' / stack}" in out
