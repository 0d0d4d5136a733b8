"""What a team's example pipeline costs for each hour a step runs: its GPU-hours at its flavor's price.

The pipeline is what `workloads --kind pipeline` renders (components/workloads/pipeline.py): every step
pod is sized on the `low` queue's first flavor (render.first_flavor), a GPU step a whole node, a CPU step
one GPU's share of the node's cpu and memory. A GPU-hour there is the flavor's GPU-month (envelope.gpu_month:
its node's price over the `nvidia.com/gpu` the node advertises) over the month's hours, the price every
other cost line uses; a CPU step holds one share of the node, priced the same. How long a step runs is
the team's code's business, so the cost is per hour of each step; the steps run one stage after another.
Kueue admits each pod on the first of the queue's flavors whose quota holds it (a fan-out can spread
over several; `explain` says where each goes), so each step is priced on every flavor of the queue, in
that order. A flavor with reserved capacity costs nothing more: the reservation is in the idle floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.model import Platform, flavors
from components.model.flavors import GPU_RESOURCE
from components.model.prices import PriceCatalog, price_catalog
from components.model.queue_classes import RESERVED
from components.workloads.pipeline import PIPELINE, PIPELINE_QUEUE
from components.workloads.render import render

from .envelope import gpu_month, usd


@dataclass(frozen=True)
class StepCost:
    team: str
    step: str
    flavor: str
    pods: int  # pods queued together (the fan-out)
    gpus_per_pod: int
    per_gpu_hour: Optional[float]  # the flavor's price of one GPU (or one GPU's share of a node) for an hour
    reserved: bool  # the node is in a reservation already billed in the idle floor

    @property
    def gpu_hours_per_hour(self) -> int:
        return self.pods * self.gpus_per_pod

    @property
    def per_hour(self) -> Optional[float]:
        """What one more hour of this step costs: its node shares (a CPU step holds one) at the GPU-hour price."""
        if self.reserved:
            return 0.0
        return None if self.per_gpu_hour is None else self.pods * max(self.gpus_per_pod, 1) * self.per_gpu_hour

    def to_json(self) -> dict:
        return {"team": self.team, "step": self.step, "flavor": self.flavor, "pods": self.pods,
                "gpusPerPod": self.gpus_per_pod, "gpuHoursPerHour": self.gpu_hours_per_hour,
                "perGpuHourUsd": usd(self.per_gpu_hour), "perHourUsd": usd(self.per_hour), "reserved": self.reserved}


def pipeline_costs(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[StepCost]:
    """Per pipelines team, each pod step of its example (in the order the steps run) on each flavor of its queue."""
    catalog = catalog or price_catalog()
    known = flavors(platform)
    out = []
    for team in platform.teams:
        if not team.pipelines:
            continue
        flow = next(o for o in render(platform, team.name, PIPELINE) if o["kind"] == "Workflow")
        templates = {t["name"]: t for t in flow["spec"]["templates"]}
        for task in templates["main"]["dag"]["tasks"]:
            limits = templates[task["template"]]["container"]["resources"].get("limits") or {}
            for quota in dict(team.queues.by_class())[PIPELINE_QUEUE]:
                flavor = known[quota.flavor]
                month = gpu_month(flavor, platform, catalog).monthly
                out.append(StepCost(team.name, task["name"], flavor.name, len(task.get("withItems") or [None]),
                                    int(limits.get(GPU_RESOURCE, 0)),
                                    None if month is None else month / catalog.hours_per_month,
                                    flavor.capacity == RESERVED))
    return out


@dataclass(frozen=True)
class StepRange:
    """One step of a team's example pipeline over the flavors Kueue may admit it on: the least and most an
    hour of it costs (the `cost` table's rows for that step; None where a flavor is unpriced)."""
    step: str
    pods: int
    least: Optional[float]
    most: Optional[float]

    def per_hour_text(self) -> str:
        """As `cost` prints money ($2.36), "$0.00..$2.36/h" over the flavors, one figure where they agree."""
        if self.least is None or self.most is None:
            return "UNPRICED"
        low, high = f"${self.least:,.2f}", f"${self.most:,.2f}"
        return f"{high}/h" if low == high else f"{low}..{high}/h"


def step_ranges(costs: list[StepCost]) -> dict[str, list[StepRange]]:
    """pipeline_costs' rows per team and step, in the order the steps run."""
    rows: dict[str, dict[str, list[StepCost]]] = {}
    for c in costs:
        rows.setdefault(c.team, {}).setdefault(c.step, []).append(c)
    out = {}
    for team, steps in rows.items():
        out[team] = []
        for step, on in steps.items():
            hours = [c.per_hour for c in on]
            priced = None not in hours
            out[team].append(StepRange(step, on[0].pods, min(hours) if priced else None, max(hours) if priced else None))
    return out
