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
