"""Dashboard previews: every Grafana dashboard the stack ships, drawn offline from its real PromQL run on
the test suite's local Prometheus (tests/monitoring/test_monitoring_promql.py: Debian's prometheus on 127.0.0.1,
synthetic series with the dev platform's real queue, namespace and pool labels), laid out by the
dashboard's gridPos (components/monitoring/preview.py), rendered to PNG by headless Chromium and
committed under docs/dashboards/. Every panel must return data; the committed PNGs must be what the
code draws now (docs/dashboards/previews.json records each drawing's SHA-256).

Regenerate: UPDATE_DASHBOARD_PREVIEWS=1 .venv/bin/python -m pytest tests/monitoring/test_dashboard_previews.py
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import urllib.parse
import urllib.request

import pytest

from components.monitoring import dashboards, preview
from components.capture import REPO
from browser_support import CHROMIUM, FLAGS, needs_browser
from test_monitoring_promql import NEEDS_PROMETHEUS, _platform, local_prometheus  # noqa: F401 (a fixture)

OUT = REPO / "docs" / "dashboards"
RECORD = OUT / "previews.json"
SPAN, STEP = 2 * 3600, 300  # the two synthetic hours, a point every 5 minutes
UPDATE = bool(os.environ.get("UPDATE_DASHBOARD_PREVIEWS"))


def _range(url: str, expr: str, end: int) -> list[dict]:
    qs = urllib.parse.urlencode({"query": expr, "start": end - SPAN, "end": end, "step": STEP})
    body = json.load(urllib.request.urlopen(f"{url}/api/v1/query_range?{qs}", timeout=20))
    assert body["status"] == "success", body
    return body["data"]["result"]


def drawings(url: str, end: int) -> tuple[dict[str, str], list[str]]:
    """uid -> SVG of every dashboard, and the panels whose queries returned nothing."""
    platform = _platform()
    team = platform.teams[0].name
    out, empty = {}, []
    for uid, board in dashboards.dashboards(platform).items():
        series: dict[int, list[preview.Series]] = {}
        for index, expr, template in preview.panel_targets(board, {"team": team}):
            found = sorted((preview.Series(preview.legend(template, r["metric"]), tuple(
                (float(t) - end, float(v)) for t, v in r["values"])) for r in _range(url, expr, end)),
                key=lambda s: s.legend)
            series.setdefault(index, []).extend(found)
        for index, panel in enumerate(board["panels"]):
            if panel.get("targets") and not series.get(index):
                empty.append(f"{uid}: {panel.get('title')}")
        subtitle = f"team = {team}, synthetic data" if "$team" in json.dumps(board) else "synthetic data"
        out[uid] = preview.render(board, series, subtitle)
    return out, empty


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def _screenshot(svg: str, png, tmp_path) -> None:
    page = tmp_path / f"{png.stem}.svg"
    page.write_text(svg)
    width, height = (int(v) for v in svg.split('viewBox="0 0 ', 1)[1].split('"', 1)[0].split())
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
                          f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and png.exists(), run.stderr[-2000:]


@NEEDS_PROMETHEUS
@needs_browser
def test_dashboard_previews_are_current_and_every_panel_has_data(local_prometheus, tmp_path):  # noqa: F811
    url, end = local_prometheus
    svgs, empty = drawings(url, end)
    assert empty == []
    digests = {uid: hashlib.sha256(svg.encode()).hexdigest() for uid, svg in svgs.items()}
    if UPDATE:
        OUT.mkdir(exist_ok=True)
        for uid, svg in svgs.items():
            _screenshot(svg, OUT / f"{uid}.png", tmp_path)
        RECORD.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    assert json.loads(RECORD.read_text()) == digests, (
        "docs/dashboards is stale: UPDATE_DASHBOARD_PREVIEWS=1 .venv/bin/python -m pytest tests/monitoring/test_dashboard_previews.py")
    for uid, svg in svgs.items():
        width, height = (int(v) for v in svg.split('viewBox="0 0 ', 1)[1].split('"', 1)[0].split())
        assert _png_size(OUT / f"{uid}.png") == (width, height)


def test_a_panel_without_data_says_so():
    board = {"title": "t", "panels": [{"type": "timeseries", "title": "empty", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                                       "targets": [{"expr": "up", "legendFormat": "{{job}}"}]}]}
    assert "No data" in preview.render(board, {})
    assert preview.legend("{{job}} / {{flavor}}", {"job": "kueue", "flavor": "l4"}) == "kueue / l4"
