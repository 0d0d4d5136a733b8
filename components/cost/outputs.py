"""Files the offline plan writes for a stack: the cost envelope as JSON and the platform picture."""

from __future__ import annotations

import json
from pathlib import Path

from components.model import Platform

from .graph import platform_graph
from .picture import html_page, markdown, svg
from .report import cost_json, pipeline_rows, server_rows, summary_lines, team_rows


def picture_title(stack: str) -> str:
    return f"GPU batch platform, stack {stack}: teams, queues, flavors, pools and monthly cost"


def write_cost_outputs(platform: Platform, stack: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    graph = platform_graph(platform)
    summary = summary_lines(platform)
    picture = svg(graph)
    files = {
        "cost.json": json.dumps(cost_json(platform, stack), indent=2) + "\n",
        "platform.md": markdown(graph, picture_title(stack), [f"- {s}" for s in summary]),
        "platform.html": html_page(picture, picture_title(stack), summary, team_rows(platform), server_rows(platform),
                                   pipeline_rows(platform)),
        "platform.svg": picture,
    }
    for name, text in files.items():
        (out / name).write_text(text)
    return [out / name for name in files]
