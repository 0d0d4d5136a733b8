"""The platform graph drawn two ways, both self-contained (no CDN, no JavaScript library): a Mermaid
flowchart for Markdown (GitHub renders it) and an SVG laid out by grandalf (components/cost/layout.py),
alone and inside a static HTML page.

The SVG is drawn for README width: its viewBox is at most 880 px wide, so at that width every text is
at least its font size (12 px). Boxes are sized from DejaVu Sans advance widths (the font the picture
asks for first; Verdana's are close), with room to spare; tests/cost/test_cost_picture.py measures the
rendered text in Chromium.
"""

from __future__ import annotations

import re
from html import escape

from .graph import COLUMNS, Graph
from .layout import Layout, layout

FONT = "DejaVu Sans, Verdana, Geneva, sans-serif"
SIZE, TITLE_SIZE, LINE, PAD = 12, 13, 15, 7
HEADER = 26  # room above the first row for the column titles
# DejaVu Sans advance widths in em (font units / 2048); bold is about 12 % wider.
_EM = {**dict.fromkeys("0123456789$#+=~", 0.636), **dict.fromkeys(" ,.:;'|!", 0.318), **dict.fromkeys("ijl", 0.278),
       **dict.fromkeys("ftr()-/[]", 0.41), "m": 0.974, "w": 0.818, **dict.fromkeys("ABCDEFGHKNOPQRSUVXYZ", 0.72),
       "M": 0.863, "W": 0.99, "%": 0.95, "@": 1.0, "x": 0.592, "_": 0.5}
BOLD = 1.12


def text_width(text: str, size: float = SIZE, bold: bool = False) -> float:
    return sum(_EM.get(ch, 0.62) for ch in text) * size * (BOLD if bold else 1.0)


def _mermaid_id(node_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "'")


def mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    for column, title in enumerate(COLUMNS):
        members = [n for n in graph.nodes if n.column == column]
        if not members:
            continue
        lines.append(f'  subgraph col{column}["{title}"]')
        for n in members:
            label = "<br/>".join([n.title, *(f"<small>{line}</small>" for line in n.lines)])
            lines.append(f'    {_mermaid_id(n.id)}["{_mermaid_text(label)}"]')
        lines.append("  end")
    for e in graph.edges:
        arrow = f' -- "{_mermaid_text(", ".join(e.label))}" --> ' if e.label else " --> "
        lines.append(f"  {_mermaid_id(e.src)}{arrow}{_mermaid_id(e.dst)}")
    return "\n".join(lines) + "\n"


def markdown(graph: Graph, title: str, summary: list[str]) -> str:
    return "\n".join([f"# {title}", "", *summary, "", "```mermaid", mermaid(graph).rstrip(), "```", ""])


def _node_size(title: str, lines: tuple[str, ...]) -> tuple[float, float]:
    width = max([text_width(title, TITLE_SIZE, bold=True), *(text_width(line) for line in lines)])
    return round(width + 2 * PAD + 4), (1 + len(lines)) * LINE + 2 * PAD - 2


def placed(graph: Graph) -> tuple[Layout, list[tuple[str, str, str]]]:
    """The layout of `graph` (a labelled edge's label is a box `label:<n>` of its own) and, per drawn
    segment, (edge id, from key, to key)."""
    sizes = {n.id: _node_size(n.title, n.lines) for n in graph.nodes}
    pairs: list[tuple[str, str]] = []
    segments: list[tuple[str, str, str]] = []
    for i, e in enumerate(graph.edges):
        if e.label:
            key = f"label:{i}"
            sizes[key] = (round(max(text_width(line) for line in e.label) + 8), len(e.label) * LINE + 4)
            pairs += [(e.src, key), (key, e.dst)]
            segments += [(f"e{i}", e.src, key), (f"e{i}", key, e.dst)]
        else:
            pairs.append((e.src, e.dst))
            segments.append((f"e{i}", e.src, e.dst))
    return layout(sizes, pairs, top=HEADER), segments


def _path(lay: Layout, route: list[tuple[float, float]], src: str, dst: str) -> str:
    """From the source box's right side to the target's left side: straight through the columns of the
    rows it passes (its own rows), a curve across each gap between columns."""
    a, b = lay.boxes[src], lay.boxes[dst]
    out = [f"M{a.right:.1f},{a.y:.1f}"]
    layer = a.layer
    for k in range(len(route) - 1):
        y0, y1 = route[k][1], route[k + 1][1]
        x0, x1 = lay.columns[layer][1], lay.columns[layer + 1][0]
        mid = (x0 + x1) / 2
        out.append(f"H{x0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        layer += 1
        if k + 1 < len(route) - 1:
            out.append(f"H{lay.columns[layer][1]:.1f}")
    out.append(f"H{b.left:.1f}")
    return " ".join(out)


def svg(graph: Graph) -> str:
    """A static SVG laid out in layers from left to right; hover a box for its quotas and cost."""
    lay, segments = placed(graph)
    width, height = round(lay.width), round(lay.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'font-family="{FONT}" font-size="{SIZE}">',
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#6b7f96"/></marker></defs>',
           '<rect width="100%" height="100%" fill="#ffffff"/>']
    nodes = {n.id: n for n in graph.nodes}
    for column, title in enumerate(COLUMNS):
        layers = sorted({lay.boxes[n.id].layer for n in graph.nodes if n.column == column})
        if layers:
            left = lay.columns[layers[0]][0]
            out.append(f'<text class="column-title" x="{left:.1f}" y="{HEADER - 10}" font-size="{TITLE_SIZE}" '
                       f'font-weight="bold" fill="#35506b">{escape(title.split(" ")[0])}</text>')
    for n, (edge_id, src, dst) in enumerate(segments):
        arrow = "" if dst.startswith("label:") else ' marker-end="url(#arrow)"'
        out.append(f'<path class="edge" data-edge="{edge_id}" data-src="{escape(src)}" data-dst="{escape(dst)}" '
                   f'd="{_path(lay, lay.routes[n], src, dst)}" fill="none" stroke="#8a9bb0" stroke-width="1.3"{arrow}/>')
    for i, e in enumerate(graph.edges):
        if not e.label:
            continue
        b = lay.boxes[f"label:{i}"]
        out.append(f'<g class="edge-label" data-edge="e{i}"><rect x="{b.left:.1f}" y="{b.y - b.h / 2:.1f}" '
                   f'width="{b.w}" height="{b.h}" rx="3" fill="#ffffff" stroke="#c5d0dc"/>')
        for k, line in enumerate(e.label):
            out.append(f'<text x="{b.x:.1f}" y="{b.y - b.h / 2 + 2 + LINE * (k + 1) - 3.5:.1f}" text-anchor="middle" '
                       f'fill="#35506b">{escape(line)}</text>')
        out.append("</g>")
    for key, node in nodes.items():
        b = lay.boxes[key]
        top = b.y - b.h / 2
        out.append(f'<g class="node" data-id="{escape(key)}"><title>{escape(node.tooltip or node.title)}</title>'
                   f'<rect x="{b.left:.1f}" y="{top:.1f}" width="{b.w}" height="{b.h}" rx="6" fill="#eef3f9" stroke="#35506b"/>'
                   f'<text x="{b.left + PAD:.1f}" y="{top + PAD + LINE - 3:.1f}" font-size="{TITLE_SIZE}" '
                   f'font-weight="bold">{escape(node.title)}</text>')
        for k, line in enumerate(node.lines):
            out.append(f'<text x="{b.left + PAD:.1f}" y="{top + PAD + LINE * (k + 2) - 3:.1f}">{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# Clicking a node highlights its edges; the last line records that the page's script ran to the end.
_SCRIPT = """
document.querySelectorAll('.node').forEach(function (node) {
  node.addEventListener('click', function () {
    var id = node.getAttribute('data-id');
    var mine = {};
    document.querySelectorAll('.edge').forEach(function (edge) {
      if (edge.getAttribute('data-src') === id || edge.getAttribute('data-dst') === id) {
        mine[edge.getAttribute('data-edge')] = true;
      }
    });
    document.querySelectorAll('.edge').forEach(function (edge) {
      edge.setAttribute('stroke', mine[edge.getAttribute('data-edge')] ? '#d9480f' : '#8a9bb0');
    });
  });
});
document.body.setAttribute('data-nodes', String(document.querySelectorAll('.node').length));
"""


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    cells = lambda row, tag: "".join(f"<{tag}>{escape(c)}</{tag}>" for c in row)  # noqa: E731
    return f"<table><tr>{cells(head, 'th')}</tr>" + "".join(f"<tr>{cells(r, 'td')}</tr>" for r in body) + "</table>"


def html_page(picture: str, title: str, summary: list[str], teams: list[list[str]],
              servers: list[list[str]] = (), pipelines: list[list[str]] = ()) -> str:
    """The picture (`svg`'s text: laid out once for this page and platform.svg) with the stack's envelope
    above it and, below, the per-team table and, where teams run model servers, their floor and burst, and
    where teams have pipelines, their example's steps per hour (tables: header row first)."""
    items = "".join(f"<li>{escape(s)}</li>" for s in summary)
    serving = f"<h2>Model servers, per month</h2>{_table(list(servers))}" if len(servers) > 1 else ""
    if len(pipelines) > 1:
        serving += f"<h2>Pipelines, per hour a step runs</h2>{_table(list(pipelines))}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:16px}svg{max-width:100%;height:auto}.node{cursor:pointer}"
        "td,th{padding:2px 10px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head>\n"
        f"<body><h1>{escape(title)}</h1><ul>{items}</ul>\n{picture}"
        f"<h2>Per team, per month</h2>{_table(teams)}{serving}<script>{_SCRIPT}</script></body></html>\n"
    )
