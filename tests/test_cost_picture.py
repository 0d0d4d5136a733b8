"""The platform picture the offline plan writes (platform.html / platform.md / platform.svg), loaded in
a real headless Chromium (Debian's package, installed by .ci/run), and the README's copy of it.

Chromium flags as the machine notes prescribe for this closed network (--disable-background-networking
etc.); with --enable-logging=stderr Chromium logs every console message, uncaught errors included, as
`...:CONSOLE...` lines on stderr (checked below against a page that does fail).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from components.cost.graph import platform_graph
from components.cost.outputs import write_cost_outputs
from components.cost.picture import svg
from components.offline import REPO
from conftest import load_dev_platform_raw
from components.model import parse_platform

CHROMIUM = shutil.which("chromium")
README_PICTURE = REPO / "docs" / "dev-platform.svg"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
CONSOLE = re.compile(r":CONSOLE[:(\]].*")

needs_browser = pytest.mark.needs_tools(
    "chromium", hint="apt-get install -y chromium (.ci/run installs it and requires it)")


def dump_dom(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """(the DOM after scripts ran, every console message) of `page` in headless Chromium."""
    profile = tmp_path / f"profile-{page.stem}"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, CONSOLE.findall(run.stderr)


@pytest.fixture(scope="module")
def dev():
    return parse_platform(load_dev_platform_raw())


@pytest.fixture(scope="module")
def written(dev, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("plan")
    return {p.name: p for p in write_cost_outputs(dev, "dev", out)}


@needs_browser
def test_page_renders_every_team_and_flavor_without_console_errors(dev, written, tmp_path):
    html = written["platform.html"].read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must load nothing from the network"
    dom, console = dump_dom(written["platform.html"], tmp_path)
    assert console == []
    graph = platform_graph(dev)
    # The page's script ran to its last line and counted every node it drew.
    assert f'data-nodes="{len(graph.nodes)}"' in dom
    for team in dev.teams:
        assert f">{team.name}</text>" in dom
    for flavor in ("l4-reserved", "l4-ondemand", "l4-spot", "l4-dws", "a100-compact-spot"):
        assert f">{flavor}</text>" in dom
        assert f"node pool {flavor}" in dom or f"NAP shape {flavor}" in dom
    assert "Idle floor: $" in dom and "Burst (every pool at max" in dom
    # team-a's quota includes its 4 shared units (4 x $155.79)
    assert "<td>team-a</td><td>$10,341.17</td><td>$6,991.73</td><td>$17,332.90</td>" in dom


@needs_browser
def test_console_check_catches_a_failing_page(tmp_path):
    """The console check above is not vacuous: a page whose script throws is reported."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>throw new Error('broken page')</script></body></html>")
    _, console = dump_dom(bad, tmp_path)
    assert any("broken page" in line for line in console)


def test_markdown_has_the_mermaid_diagram_with_costs(dev, written):
    md = written["platform.md"].read_text()
    assert "```mermaid\nflowchart LR" in md
    for team in dev.teams:
        assert f'team_{team.name.replace("-", "_")}["{team.name}<br/>' in md
    assert 'cohort_team_a_b -- "4 GPUs (+8 borrowable), $2,921/mo" --> flavor_l4_reserved' in md


def test_readme_picture_is_the_dev_stack_regenerated():
    """README embeds docs/dev-platform.svg; it must be exactly what the program draws for dev now."""
    assert "docs/dev-platform.svg" in (REPO / "README.md").read_text()
    current = svg(platform_graph(parse_platform(load_dev_platform_raw())))
    assert README_PICTURE.read_text() == current, (
        "docs/dev-platform.svg is stale: run `make plan` and copy build/plan/dev/platform.svg to docs/dev-platform.svg")
