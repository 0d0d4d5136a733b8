"""`cost` of a team's example pipeline (components/cost/pipeline.py): each step's GPU-hours per hour it runs,
priced by the one cost model (envelope.gpu_month: a GPU's share of its node's price, over the month's hours)
on each flavor of the team's low queue; a reserved flavor adds nothing (its nodes are in the idle floor).
"""

from __future__ import annotations

import json

import pytest

from components.capture import REPO
from components.cli import main as cli
from components.cost.envelope import gpu_month
from components.cost.pipeline import pipeline_costs
from components.cost.report import cost_json, cost_text
from components.model import flavors, parse_platform
from components.model.prices import price_catalog
from components.workloads import render
from conftest import load_dev_platform_raw

DEV = parse_platform(load_dev_platform_raw())
CATALOG = price_catalog()


def _rendered_steps() -> dict[str, tuple[int, int]]:
    """step -> (pods, GPUs per pod) as `workloads --kind pipeline` renders team-d's example."""
    flow = next(o for o in render(DEV, "team-d", "pipeline") if o["kind"] == "Workflow")
    templates = {t["name"]: t for t in flow["spec"]["templates"]}
    return {t["name"]: (len(t.get("withItems") or [0]),
                        int(templates[t["template"]]["container"]["resources"]["limits"].get("nvidia.com/gpu", 0)))
            for t in templates["main"]["dag"]["tasks"]}


def test_each_step_is_priced_on_each_flavor_of_the_low_queue_at_the_cost_models_gpu_hour():
    costs = pipeline_costs(DEV, CATALOG)
    low = [q.flavor for q in dict(DEV.teams[3].queues.by_class())["low"]]
    assert [(c.step, c.flavor) for c in costs] == [(s, f) for s in ("prep", "train", "evaluate", "publish") for f in low]
    steps = _rendered_steps()
    assert steps == {"prep": (1, 0), "train": (3, 2), "evaluate": (1, 1), "publish": (1, 0)}
    known = flavors(DEV)
    for c in costs:
        assert (c.pods, c.gpus_per_pod) == steps[c.step]
        flavor = known[c.flavor]
        assert c.per_gpu_hour == pytest.approx(gpu_month(flavor, DEV, CATALOG).monthly / CATALOG.hours_per_month)
        if c.reserved:
            assert flavor.capacity == "reserved" and c.per_hour == 0
        else:  # a CPU step holds one GPU's share of the node
            assert c.per_hour == pytest.approx(c.pods * max(c.gpus_per_pod, 1) * c.per_gpu_hour)
    train_spot = next(c for c in costs if (c.step, c.flavor) == ("train", "l4-spot"))
    assert train_spot.gpu_hours_per_hour == 6 and round(train_spot.per_hour, 2) == 2.36  # 6 x $287.33 / 730 h
    doc = (REPO / "docs" / "teams.md").read_text().split("### Submit a pipeline", 1)[1].split("\n### ", 1)[0]
    assert f"{train_spot.gpu_hours_per_hour} GPU-hours an hour, **${train_spot.per_hour:.2f}/h** on l4-spot" in doc


def test_cost_prints_and_exports_the_pipeline_rows(capsys):
    text = "\n".join(cost_text(DEV, "dev", CATALOG))
    section = text.split("\nPipelines (", 1)[1].split("\n\n", 1)[0]
    assert "team-d  train     3     6            l4-spot" in section and "$2.36" in section
    assert "$1.00 (reserved)" in section
    rows = cost_json(DEV, "dev", CATALOG)["pipelines"]
    assert {"team": "team-d", "step": "train", "flavor": "l4-spot", "pods": 3, "gpusPerPod": 2, "gpuHoursPerHour": 6,
            "perGpuHourUsd": 0.39, "perHourUsd": 2.36, "reserved": False} in rows
    assert cli(["cost", "dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pipelines"] == rows


def test_a_stack_without_pipeline_teams_has_no_pipeline_rows():
    raw = load_dev_platform_raw()
    for team in raw["teams"]:
        team.pop("pipelines", None)
    platform = parse_platform(raw)
    assert pipeline_costs(platform, CATALOG) == [] and "Pipelines (" not in "\n".join(cost_text(platform, "dev", CATALOG))


def test_each_place_shows_the_figures_cost_prints(tmp_path):
    """The picture's team box, its tooltip, the summary (plan, platform.md, platform.html), the page's table
    and the plan's cost section show each step's per-hour cost as `cost` prints it (the same rows of
    pipeline_costs): least..most over the low queue's flavors, $0.00 on reserved capacity."""
    from html import escape

    from components.cost.graph import platform_graph
    from components.cost.outputs import write_cost_outputs
    from components.cost.report import pipeline_rows, plan_section

    cost_rows = "\n".join(cost_text(DEV, "dev", CATALOG)).split("\nPipelines (", 1)[1].split("\n\n", 1)[0]
    printed: dict[str, list[str]] = {}
    for line in cost_rows.splitlines()[3:]:
        team, step, *_, per_hour = line.split()
        assert team == "team-d"
        printed.setdefault(step, []).append(per_hour)
    assert printed == {"prep": ["$0.00", "$0.39"], "train": ["$0.00", "$2.36"],
                       "evaluate": ["$0.00", "$0.39"], "publish": ["$0.00", "$0.39"]}
    shown = [f"{step} {min(p)}..{max(p)}/h" for step, p in printed.items()]

    box = {n.id: n for n in platform_graph(DEV, CATALOG).nodes}["team:team-d"]
    assert box.lines[-5:] == ("pipeline step, per hour:", *shown)
    assert "train (3 pods) $0.00..$2.36/h" in box.tooltip
    summary = "Pipeline of team-d (the example, per hour each step runs, over its low queue's flavors): " + ", ".join(shown)
    section = "\n".join(plan_section(DEV, CATALOG))
    assert summary in section and cost_rows in section
    written = {p.name: p.read_text() for p in write_cost_outputs(DEV, "dev", tmp_path)}
    assert f"- {summary}" in written["platform.md"]
    assert f"<li>{escape(summary)}</li>" in written["platform.html"]
    row = "".join(f"<td>{escape(cell)}</td>" for cell in pipeline_rows(DEV, CATALOG)[4])
    assert row == ("<td>team-d</td><td>train</td><td>3</td><td>6</td><td>l4-spot</td><td>$0.39</td><td>$2.36</td>")
    assert "<h2>Pipelines, per hour a step runs</h2>" in written["platform.html"] and row in written["platform.html"]
    assert ">train $0.00..$2.36/h</text>" in written["platform.svg"]
    assert ">train $0.00..$2.36/h</text>" in (REPO / "docs" / "dev-platform.svg").read_text()
    assert "(team-d: train $0.00..$2.36/h," in " ".join((REPO / "docs" / "operating.md").read_text().split())
    for team in DEV.teams:
        if team.name != "team-d":
            assert not any("pipeline" in line for line in {n.id: n for n in platform_graph(DEV, CATALOG).nodes}[
                f"team:{team.name}"].lines), team.name


def test_one_flavor_or_an_unpriced_flavor_shows_as_cost_prints_it():
    from components.cost.pipeline import StepCost, step_ranges

    spot = StepCost("t", "train", "l4-spot", 3, 2, 0.39, False)
    [[one]] = step_ranges([spot]).values()
    assert one.per_hour_text() == "$2.34/h"
    [[unpriced]] = step_ranges([spot, StepCost("t", "train", "x", 3, 2, None, False)]).values()
    assert unpriced.per_hour_text() == "UNPRICED"


def test_a_stack_without_pipeline_teams_shows_none_in_the_plan_or_the_picture(tmp_path):
    from components.cost.graph import platform_graph
    from components.cost.outputs import write_cost_outputs
    from components.cost.report import pipeline_rows, plan_section

    raw = load_dev_platform_raw()
    for team in raw["teams"]:
        team.pop("pipelines", None)
    bare = parse_platform(raw)
    assert pipeline_rows(bare, CATALOG) == [pipeline_rows(DEV, CATALOG)[0]]
    assert not any("pipeline" in line for n in platform_graph(bare, CATALOG).nodes for line in n.lines)
    assert not any("Pipeline" in line for line in plan_section(bare, CATALOG))
    written = {p.name: p.read_text() for p in write_cost_outputs(bare, "bare", tmp_path)}
    assert not any("Pipeline" in text or "pipeline step" in text for text in written.values())
