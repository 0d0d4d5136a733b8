"""Long commands say what they are doing: one line per phase on stderr when a person watches a terminal,
nothing when stderr is piped or under CI (components/progress.py). The commands run in-process with a
stderr that is (or is not) a terminal; their stdout stays exactly the command's output."""

from __future__ import annotations

import io
import re
import sys

from components import cli
from components.capture import REPO
from components.progress import Progress

PHASE = re.compile(r"^\[\s*\d+\.\d+s\] ")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def phases(text: str) -> list[str]:
    return [PHASE.sub("", line) for line in text.splitlines() if PHASE.match(line)]


def test_a_phase_line_on_a_terminal_and_none_when_piped_or_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    tty, pipe = Terminal(), io.StringIO()
    Progress("plan dev", tty).phase("running")
    Progress("plan dev", pipe).phase("running")
    assert phases(tty.getvalue()) == ["plan dev: running"] and pipe.getvalue() == ""
    monkeypatch.setenv("CI", "true")
    ci = Terminal()
    Progress("plan dev", ci).phase("running")
    assert ci.getvalue() == ""


def on_a_terminal(monkeypatch) -> Terminal:
    """stderr a terminal from here on (set in the test itself: pytest re-points sys.stderr after fixtures)."""
    monkeypatch.delenv("CI", raising=False)
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    return err


def test_plan_reports_each_phase_on_a_terminal(monkeypatch, tmp_path, capsys):
    err = on_a_terminal(monkeypatch)
    assert cli.main(["plan", "dev", "--out", str(tmp_path)]) == 0
    assert phases(err.getvalue()) == [
        "plan dev: reading and validating the stack config", "plan dev: running the program under Pulumi's mocks",
        "plan dev: writing resources.json and the Kubernetes manifests",
        "plan dev: writing the cost report and the platform picture"]
    assert not PHASE.search(capsys.readouterr().out)


def test_diff_reports_each_phase_on_a_terminal(monkeypatch):
    example = REPO / "docs" / "examples" / "dev-add-team-e.yaml"
    err = on_a_terminal(monkeypatch)
    assert cli.main(["diff", str(REPO / "Pulumi.dev.yaml"), str(example)]) == 0
    assert phases(err.getvalue()) == [
        f"diff dev: planning {REPO / 'Pulumi.dev.yaml'} with the current code",
        f"diff dev: planning {example} with the current code", "diff dev: comparing the two plans"]


def test_make_says_it_installs_the_dependencies_before_pip_runs():
    recipe = (REPO / "Makefile").read_text().split(".venv/.installed:", 1)[1].split("\n\n", 1)[0]
    steps = [line.strip() for line in recipe.splitlines()[1:]]
    assert steps[0].startswith("@$(call PROGRESS,") and "pip install" in steps[2] and steps[3].startswith("@$(call PROGRESS,")
    assert 'if [ -t 2 ] && [ -z "$$CI" ]' in (REPO / "Makefile").read_text()
