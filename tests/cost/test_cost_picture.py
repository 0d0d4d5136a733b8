"""The platform picture the offline plan writes (platform.html / platform.md / platform.svg), loaded in
a real headless Chromium (Debian's package, installed by .ci/run), and the README's copy of it.

Chromium flags as the machine notes prescribe for this closed network (--disable-background-networking
etc.); with --enable-logging=stderr Chromium logs every console message, uncaught errors included, as
`...:CONSOLE...` lines on stderr (checked below against a page that does fail).
"""

from __future__ import annotations

import re
import subprocess
from html import escape
from pathlib import Path

import pytest

from components.cost.graph import platform_graph
from components.cost.outputs import write_cost_outputs
from components.cost.picture import svg
from components.capture import REPO
from components.model import parse_platform
from components.model.ledger import ledger
from conftest import load_dev_platform_raw
from browser_support import CHROMIUM, FLAGS, needs_browser
from picture_measure import README_WIDTH, measure

README_PICTURE = REPO / "docs" / "dev-platform.svg"
CONSOLE = re.compile(r":CONSOLE[:(\]].*")

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
    assert ">node pool g2-standard-24</text>" in dom and ">NAP shape a2-highgpu-1g</text>" in dom
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
    # The cohort holds the 4 reserved GPUs its queues own (borrowing limits move quota inside it, add none).
    assert 'cohort_team_a_b -- "4 GPUs, $2,921/mo" --> flavor_l4_reserved' in md
    # A team's LocalQueues are one node listing its queue classes.
    assert "<small>queues: high, low, compact," in md and "lq_" not in md


def test_readme_picture_is_the_dev_stack_regenerated():
    """README embeds docs/dev-platform.svg; it must be exactly what the program draws for dev now."""
    assert "docs/dev-platform.svg" in (REPO / "README.md").read_text()
    current = svg(platform_graph(parse_platform(load_dev_platform_raw())))
    assert README_PICTURE.read_text() == current, (
        "docs/dev-platform.svg is stale: run `make plan` and copy build/plan/dev/platform.svg to docs/dev-platform.svg")


def test_labels_are_what_the_quota_ledger_allows(dev):
    """A team's node lists the most its queues can hold per flavor (ledger.team_ceiling); a cohort's edge
    to a flavor, the GPUs its queues own there; the fan-out of LocalQueues is folded into the team."""
    graph = platform_graph(dev)
    book = ledger(dev)
    nodes = {n.id: n for n in graph.nodes}
    for team in dev.teams:
        lines = nodes[f"team:{team.name}"].lines
        for flavor in dict.fromkeys(e.flavor for e in book.of_team(team)):
            assert f"{flavor} {book.team_ceiling(team, flavor)}" in lines
    reserved = next(e for e in graph.edges if e.src == "cohort:team-a-b" and e.dst == "flavor:l4-reserved")
    held = sum(e.nominal for e in book.entries if e.cohort == "team-a-b" and e.flavor == "l4-reserved")
    assert reserved.label[0] == f"{held} GPUs" == "4 GPUs"
    assert not any(n.id.startswith("lq:") for n in graph.nodes)


@needs_browser
def test_readme_picture_reads_at_readme_width(tmp_path):
    """At 880 px every text is at least 11 px, no edge crosses a label or runs through a box, and every
    text sits inside its box without touching another (measured in Chromium, tests/picture_measure.py)."""
    m = measure(README_PICTURE.read_text(), CHROMIUM, FLAGS, tmp_path)
    assert m["width_px"] <= README_WIDTH and m["smallest_px"] >= 11, m
    assert m["labels"] > 0 and m["label_crossings"] == [] and m["edges_through_boxes"] == [], m
    assert m["text_overflow"] == [] and m["text_overlap"] == [], m


@needs_browser
def test_the_measurement_sees_small_text_crossings_and_edges_through_boxes(tmp_path):
    """The legibility check is not vacuous: a picture drawn twice too wide, with an edge through a box and
    across a label, fails each measure."""
    bad = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1760 300" width="1760" height="300" font-size="12">'
           '<g class="node" data-id="a"><rect x="10" y="10" width="100" height="40"/><text x="15" y="30">a</text></g>'
           '<g class="node" data-id="b"><rect x="400" y="10" width="100" height="40"/><text x="405" y="30">b</text></g>'
           '<g class="node" data-id="c"><rect x="800" y="10" width="100" height="40"/><text x="805" y="30">c</text></g>'
           '<text class="edge-label" x="300" y="34">a label</text>'
           '<path class="edge" data-src="a" data-dst="c" d="M110,30 H800" stroke="black"/></svg>')
    m = measure(bad, CHROMIUM, FLAGS, tmp_path)
    assert m["smallest_px"] == 6
    assert len(m["label_crossings"]) == 1 and m["edges_through_boxes"] == ["0 a->c x b"]


def test_a_model_servers_floor_and_burst_are_in_the_picture_and_the_plans_cost_section(dev, written):
    """The serving floor and burst `cost` prints (components/cost/serving.py) appear, with the same numbers,
    in the team's box, the page's summary and table, the Markdown summary and the plan's cost section; a
    team without a server shows none."""
    from components.cost.report import money, plan_section, server_rows
    from components.cost.serving import serving_costs

    [server] = serving_costs(dev)
    floor, burst = f"${server.floor.monthly:,.0f}/mo", f"${server.burst.monthly:,.0f}/mo"
    nodes = {n.id: n for n in platform_graph(dev).nodes}
    box = nodes[f"team:{server.team}"]
    assert box.lines[-3:] == (f"model server {server.min_replicas}..{server.max_replicas} replicas",
                              f"server floor {floor}", f"server burst {burst}")
    assert f"floor {server.floor_nodes} node(s) {floor}" in box.tooltip
    for team in dev.teams:
        if team.name != server.team:
            assert not any("server" in line for line in nodes[f"team:{team.name}"].lines), team.name
    assert f">server floor {floor}</text>" in README_PICTURE.read_text()
    summary = (f"Model servers (1): floor {money(server.floor.monthly)}/month on top of the idle floor, "
               f"burst {money(server.burst.monthly)}/month within the pools' burst")
    assert f"- {summary}" in written["platform.md"].read_text()
    html = written["platform.html"].read_text()
    assert f"<li>{escape(summary)}</li>" in html
    row = "".join(f"<td>{cell}</td>" for cell in server_rows(dev)[1])
    assert "<h2>Model servers, per month</h2>" in html and row in html
    assert row == (f"<td>{server.team}</td><td>{server.flavor}</td><td>1..4</td><td>1..2</td>"
                   f"<td>{money(server.floor.monthly)}</td><td>{money(server.burst.monthly)}</td>")
    section = "\n".join(plan_section(dev))
    assert summary in section and re.search(
        rf"\n  {server.team} +{server.flavor} +1\.\.4 +1\.\.2 +\$1,460\.61 +\$2,921\.22\n", section), section


def test_a_stack_without_model_servers_draws_and_prints_none(dev):
    from components.cost.picture import html_page
    from components.cost.report import plan_section, server_rows, summary_lines

    raw = load_dev_platform_raw()
    for team in raw["teams"]:
        team.pop("serving", None)
    bare = parse_platform(raw)
    assert server_rows(bare) == [server_rows(dev)[0]]
    assert not any("server" in line for n in platform_graph(bare).nodes for line in n.lines)
    assert not any("Model servers" in line for line in plan_section(bare) + summary_lines(bare))
    assert "Model servers" not in html_page(svg(platform_graph(bare)), "t", summary_lines(bare), [["team"]], server_rows(bare))
