"""The platform graph drawn two ways, both self-contained (no CDN, no JavaScript library):
a Mermaid flowchart for Markdown (GitHub renders it) and a hand-laid-out SVG inside a static HTML page.
"""

from __future__ import annotations

import re
from html import escape

from .graph import COLUMNS, Graph

COL_WIDTH, NODE_W, NODE_H, ROW_H, TOP, LEFT = 390, 200, 44, 58, 60, 20


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
            label = f"{n.title}<br/><small>{n.detail}</small>" if n.detail else n.title
            lines.append(f'    {_mermaid_id(n.id)}["{_mermaid_text(label)}"]')
        lines.append("  end")
    for e in graph.edges:
        arrow = f' -- "{_mermaid_text(e.label)}" --> ' if e.label else " --> "
        lines.append(f"  {_mermaid_id(e.src)}{arrow}{_mermaid_id(e.dst)}")
    return "\n".join(lines) + "\n"


def markdown(graph: Graph, title: str, summary: list[str]) -> str:
    return "\n".join([f"# {title}", "", *summary, "", "```mermaid", mermaid(graph).rstrip(), "```", ""])


def _positions(graph: Graph) -> tuple[dict[str, tuple[float, float]], float]:
    by_column: dict[int, list] = {}
    for n in graph.nodes:
        by_column.setdefault(n.column, []).append(n)
    rows = max(len(v) for v in by_column.values())
    height = TOP + rows * ROW_H + 20
    pos = {}
    for column, members in by_column.items():
        # Spread each column over the full height so fan-in edges stay readable.
        step = (rows * ROW_H) / len(members)
        for i, n in enumerate(members):
            pos[n.id] = (LEFT + column * COL_WIDTH, TOP + i * step + (step - NODE_H) / 2)
    return pos, height


def svg(graph: Graph) -> str:
    """A static SVG: one column per layer, edges as curves labelled at their midpoint (which differs for
    edges that share an end, so fan-in and fan-out labels do not sit on each other)."""
    pos, height = _positions(graph)
    width = LEFT * 2 + (len(COLUMNS) - 1) * COL_WIDTH + NODE_W
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" width="{width}" '
           f'height="{height:.0f}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="#ffffff"/>']
    for column, title in enumerate(COLUMNS):
        out.append(f'<text x="{LEFT + column * COL_WIDTH}" y="30" font-size="14" font-weight="bold">{escape(title)}</text>')
    for i, e in enumerate(graph.edges):
        if e.src not in pos or e.dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        x1, y1, x2, y2 = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
        mid = (x1 + x2) / 2
        out.append(f'<path class="edge" data-src="{escape(e.src)}" data-dst="{escape(e.dst)}" '
                   f'd="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
                   f'fill="none" stroke="#8a9bb0" stroke-width="1.2"/>')
        if e.label:
            out.append(f'<text class="edge-label" x="{mid:.0f}" y="{(y1 + y2) / 2 - 2:.0f}" text-anchor="middle" '
                       f'font-size="9" fill="#35506b" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                       f'{escape(e.label)}</text>')
    for n in graph.nodes:
        x, y = pos[n.id]
        out.append(f'<g class="node" data-id="{escape(n.id)}"><rect x="{x}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" '
                   f'rx="6" fill="#eef3f9" stroke="#35506b"/>'
                   f'<text x="{x + 8}" y="{y + 17:.0f}" font-weight="bold">{escape(n.title)}</text>'
                   f'<text x="{x + 8}" y="{y + 33:.0f}" font-size="9">{escape(n.detail)}</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# Clicking a node highlights its edges; the last line records that the page's script ran to the end.
_SCRIPT = """
document.querySelectorAll('.node').forEach(function (node) {
  node.addEventListener('click', function () {
    var id = node.getAttribute('data-id');
    document.querySelectorAll('.edge').forEach(function (edge) {
      var on = edge.getAttribute('data-src') === id || edge.getAttribute('data-dst') === id;
      edge.setAttribute('stroke', on ? '#d9480f' : '#8a9bb0');
    });
  });
});
document.body.setAttribute('data-nodes', String(document.querySelectorAll('.node').length));
"""


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    cells = lambda row, tag: "".join(f"<{tag}>{escape(c)}</{tag}>" for c in row)  # noqa: E731
    return f"<table><tr>{cells(head, 'th')}</tr>" + "".join(f"<tr>{cells(r, 'td')}</tr>" for r in body) + "</table>"


def html_page(graph: Graph, title: str, summary: list[str], teams: list[list[str]]) -> str:
    """The picture with the stack's envelope above it and, below, the per-team table (header row first)."""
    items = "".join(f"<li>{escape(s)}</li>" for s in summary)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:16px}svg{max-width:100%;height:auto}"
        "td,th{padding:2px 10px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head>\n"
        f"<body><h1>{escape(title)}</h1><ul>{items}</ul>\n{svg(graph)}"
        f"<h2>Per team, per month</h2>{_table(teams)}<script>{_SCRIPT}</script></body></html>\n"
    )
