"""A dashboard drawn offline as an SVG, as Grafana would lay it out, from query results handed in (pure).

Panels sit where the dashboard's gridPos puts them (24 columns; a grid unit is 30 px high, Grafana's
GRID_CELL_HEIGHT, with its 8 px margin); rows become a title bar, stat panels show the last value, time
series a line per series with its legendFormat filled in. Times are relative (-2h ... now) so the same
data always draws the same picture. tests/monitoring/test_dashboard_previews.py feeds it a local Prometheus's
answers to every panel's real PromQL and writes the PNGs under docs/dashboards/.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape

COLUMN, ROW, MARGIN = 50, 30, 8  # px per grid column (24 -> 1200 px) and per grid row
HEADER = 44
FONT = "DejaVu Sans, Verdana, sans-serif"
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642",
           "#CCA300", "#447EBC", "#C15C17")


@dataclass(frozen=True)
class Series:
    legend: str
    points: tuple[tuple[float, float], ...]  # (seconds relative to now, value), oldest first


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legendFormat: `{{label}}` replaced by the series' label value."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip() or "value"


def panel_targets(board: dict, variables: dict[str, str]) -> list[tuple[int, str, str]]:
    """(panel index, expr with the variables filled in, legendFormat) of every query of the dashboard."""
    out = []
    for i, panel in enumerate(board.get("panels", [])):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in variables.items():
                expr = expr.replace(f"${name}", value)
            out.append((i, expr, target.get("legendFormat", "")))
    return out


def _unit(value: float, unit: str) -> str:
    if unit == "percentunit":
        return f"{value * 100:.0f}%"
    if unit == "percent":
        return f"{value:.0f}%"
    text = f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.0f}"
    return text + {"s": " s", "reqps": " req/s"}.get(unit, "")


def _nice(top: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above `top` (the axis maximum)."""
    if top <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(top))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= top)


def _box(panel: dict) -> tuple[float, float, float, float]:
    g = panel["gridPos"]
    return (g["x"] * COLUMN + MARGIN / 2, HEADER + g["y"] * ROW + MARGIN / 2, g["w"] * COLUMN - MARGIN, g["h"] * ROW - MARGIN)


def _stat(out: list[str], panel: dict, series: list[Series], x: float, y: float, w: float, h: float) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    value = series[0].points[-1][1] if series and series[0].points else None
    shown = "No data" if value is None else _unit(value, unit)
    out.append(f'<text x="{x + w / 2:.0f}" y="{y + h / 2 + 16:.0f}" text-anchor="middle" font-size="30" '
               f'font-weight="bold" fill="#1F78C1">{escape(shown)}</text>')


def _timeseries(out: list[str], panel: dict, series: list[Series], x: float, y: float, w: float, h: float) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    legend_rows = 2
    left, top, right, bottom = x + 48, y + 30, x + w - 12, y + h - 18 - 14 * legend_rows
    values = [v for s in series for _, v in s.points]
    if not values:
        out.append(f'<text x="{x + w / 2:.0f}" y="{y + h / 2:.0f}" text-anchor="middle" fill="#999">No data</text>')
        return
    high = _nice(max(values) * 1.05 if unit != "percentunit" else min(1.0, max(values) * 1.05))
    span = max(-min(t for s in series for t, _ in s.points), 1)
    for k in range(5):
        v = high * k / 4
        ty = bottom - (bottom - top) * k / 4
        out.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{right}" y2="{ty:.1f}" stroke="#e4e7eb"/>'
                   f'<text x="{left - 4}" y="{ty + 4:.1f}" text-anchor="end" font-size="10" fill="#555">{escape(_unit(v, unit))}</text>')
    for t, label in ((-span, f"-{span / 3600:g}h"), (-span / 2, f"-{span / 7200:g}h"), (0, "now")):
        tx = right + (right - left) * t / span
        out.append(f'<text x="{tx:.1f}" y="{bottom + 13:.1f}" text-anchor="middle" font-size="10" fill="#555">{label}</text>')
    for n, s in enumerate(series):
        pts = " ".join(f"{right + (right - left) * t / span:.1f},{bottom - (bottom - top) * min(v, high) / high:.1f}"
                       for t, v in s.points)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{PALETTE[n % len(PALETTE)]}" stroke-width="1.6"/>')
    lx, ly = x + 10, bottom + 30
    for n, s in enumerate(series):
        label = s.legend if len(s.legend) <= 40 else s.legend[:39] + "…"
        width = 26 + len(label) * 6.6  # DejaVu Sans at 10 px: about 6 px a character
        if lx + width > x + w - 70:  # room for "+N more" at the end of the line
            lx, ly = x + 10, ly + 14
            if ly > y + h - 4:
                out.append(f'<text x="{x + w - 10:.0f}" y="{ly - 14:.0f}" text-anchor="end" font-size="10" fill="#555">'
                           f'+{len(series) - n} more</text>')
                break
        out.append(f'<rect x="{lx:.1f}" y="{ly - 8:.1f}" width="10" height="3" fill="{PALETTE[n % len(PALETTE)]}"/>'
                   f'<text x="{lx + 14:.1f}" y="{ly:.1f}" font-size="10" fill="#333">{escape(label)}</text>')
        lx += width


def render(board: dict, series: dict[int, list[Series]], subtitle: str = "") -> str:
    """The dashboard as an SVG; `series`: panel index -> its series (every target's, in target order)."""
    panels = board.get("panels", [])
    width = 24 * COLUMN
    height = HEADER + max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels) * ROW + MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'font-family="{FONT}" font-size="12">', f'<rect width="100%" height="100%" fill="#f4f5f5"/>',
           f'<text x="8" y="24" font-size="17" font-weight="bold" fill="#222">{escape(board.get("title", ""))}</text>',
           f'<text x="{width - 8}" y="24" text-anchor="end" font-size="11" fill="#555">{escape(subtitle)}</text>']
    for i, panel in enumerate(panels):
        x, y, w, h = _box(panel)
        if panel.get("type") == "row":
            out.append(f'<text x="{x + 2}" y="{y + 16}" font-size="14" font-weight="bold" fill="#333">'
                       f'{escape(panel.get("title", ""))}</text>')
            continue
        out.append(f'<g class="panel" data-panel="{i}"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="3" '
                   f'fill="#ffffff" stroke="#d8d9da"/><text x="{x + 10}" y="{y + 19}" font-size="13" font-weight="bold" '
                   f'fill="#222">{escape(panel.get("title", ""))}</text>')
        draw = _stat if panel.get("type") == "stat" else _timeseries
        draw(out, panel, series.get(i, []), x, y, w, h)
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
