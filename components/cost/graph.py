"""The platform as a graph a reviewer can read: teams (their LocalQueues folded into one node, the queue
classes listed) -> cohorts and the shared DWS queue -> flavors with their node pool or NAP shape, each
labelled with what Kueue would let it hold and what that costs per month.

Quotas come from the quota ledger (components/model/ledger.py, Kueue's own arithmetic): a team's node
states the most its queues can ever hold per flavor (`team_ceiling`), a cohort's edge to a flavor the
GPUs the cohort really holds there (its queues' nominal quota; borrowing moves quota inside the cohort,
it adds none). Teams and queue classes are those the program renders (components.kubernetes.render).
Priced with the cost envelope's per-GPU prices. Pure.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

from components.kubernetes.render import planned_manifests
from components.model import Platform, flavors
from components.model.ledger import ledger
from components.model.prices import PriceCatalog, price_catalog

from .envelope import Pricer, gpu_month, price_model
from .pipeline import StepRange, pipeline_costs, step_ranges
from .serving import ServingCost, serving_costs
from .teams import team_costs

COLUMNS = ("Teams and their queues", "Cohorts and shared queues", "Flavors and their nodes")


@dataclass(frozen=True)
class Node:
    id: str
    column: int
    title: str
    lines: tuple[str, ...] = ()
    tooltip: str = ""


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: tuple[str, ...] = ()  # lines; empty: unlabelled


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _money(value: Optional[float]) -> str:
    return "unpriced" if value is None else f"${value:,.0f}/mo"


def _gpu_name(accelerator: str) -> str:
    """nvidia-tesla-a100 -> A100, nvidia-l4 -> L4."""
    return accelerator.removeprefix("nvidia-").removeprefix("tesla-").upper()


def _units(gpus: int, flavor) -> str:
    return f"{gpus} shared units" if flavor.units_per_gpu > 1 else f"{gpus} GPU" + ("" if gpus == 1 else "s")


def _server_lines(server: Optional[ServingCost]) -> tuple[str, ...]:
    """A team's model server: what its minReplicas keep running and what all its replicas cost
    (components/cost/serving.py, the numbers `cost` prints)."""
    if server is None:
        return ()
    return (f"model server {server.min_replicas}..{server.max_replicas} replicas",
            f"server floor {_money(server.floor.monthly)}", f"server burst {_money(server.burst.monthly)}")


def _server_tooltip(server: Optional[ServingCost]) -> str:
    if server is None:
        return ""
    return (f"; model server on {server.flavor}: floor {server.floor_nodes} node(s) {_money(server.floor.monthly)}"
            f" on top of the idle floor, burst {server.burst_nodes} node(s) {_money(server.burst.monthly)}")


def _pipeline_lines(steps: list[StepRange]) -> tuple[str, ...]:
    """A pipelines team's example, each step per hour it runs over its low queue's flavors
    (components/cost/pipeline.py, the figures `cost` prints)."""
    if not steps:
        return ()
    return ("pipeline step, per hour:", *(f"{r.step} {r.per_hour_text()}" for r in steps))


def _pipeline_tooltip(steps: list[StepRange]) -> str:
    if not steps:
        return ""
    return ("; example pipeline per hour each step runs (least on reserved capacity, already in the idle floor): "
            + ", ".join(f"{r.step} ({r.pods} pod{'' if r.pods == 1 else 's'}) {r.per_hour_text()}" for r in steps))


def platform_graph(platform: Platform, catalog: Optional[PriceCatalog] = None) -> Graph:
    catalog = catalog or price_catalog()
    rendered = planned_manifests(platform)
    all_flavors = flavors(platform)
    book = ledger(platform)
    per_gpu = {name: gpu_month(f, platform, catalog).monthly for name, f in all_flavors.items()}
    cost = lambda flavor, gpus: None if per_gpu[flavor] is None else gpus * per_gpu[flavor]  # noqa: E731
    costs = {t.team: t for t in team_costs(platform, catalog)}
    servers = {s.team: s for s in serving_costs(platform, catalog)}
    pipelines = step_ranges(pipeline_costs(platform, catalog))
    nodes: list[Node] = []
    edges: list[Edge] = []

    by_name = {t.name: t for t in platform.teams}
    for name, objs in rendered.teams.items():
        team, c = by_name[name], costs[name]
        classes = [lq["metadata"]["name"] for lq in objs.local_queues]
        used = list(dict.fromkeys(e.flavor for e in book.of_team(team)))
        ceilings = [f"{f} {book.team_ceiling(team, f)}" for f in used]
        budget = f", budget ${c.budget:,.0f}" if c.budget else ""
        server, steps = servers.get(name), pipelines.get(name, [])
        nodes.append(Node(
            f"team:{name}", 0, name,
            (*textwrap.wrap("queues: " + ", ".join(classes), 28), "holds at most (GPUs):", *ceilings,
             f"quota {_money(c.nominal)}", *_server_lines(server), *_pipeline_lines(steps)),
            f"{name}: LocalQueues {', '.join(classes)}; quota {_money(c.nominal)}, burst {_money(c.burst)}{budget}"
            + _server_tooltip(server) + _pipeline_tooltip(steps)))
        target = f"cohort:{team.cohort}" if team.cohort else None
        if target:
            edges.append(Edge(f"team:{name}", target))
        else:
            for f in used:
                nominal = sum(e.nominal for e in book.of_team(team) if e.flavor == f)
                edges.append(Edge(f"team:{name}", f"flavor:{f}", (_units(nominal, all_flavors[f]), _money(cost(f, nominal)))))
        if team.dws and platform.dws:
            edges.append(Edge(f"team:{name}", "cq:dws"))

    held: dict[tuple[str, str], int] = defaultdict(int)
    for e in book.entries:
        if e.cohort:
            held[(e.cohort, e.flavor)] += e.nominal
    for obj in rendered.cohorts:
        cohort = obj["metadata"]["name"]
        members = [t.name for t in platform.teams if t.cohort == cohort]
        nodes.append(Node(f"cohort:{cohort}", 1, cohort, ("Cohort of " + ", ".join(members),),
                          f"Cohort {cohort}: the teams' queues lend and borrow within what it holds"))
    for (cohort, f), gpus in held.items():
        edges.append(Edge(f"cohort:{cohort}", f"flavor:{f}", (_units(gpus, all_flavors[f]), _money(cost(f, gpus)))))
    if platform.dws:
        d = platform.dws
        nodes.append(Node("cq:dws", 1, "dws", ("shared ClusterQueue",), "The DWS ClusterQueue the granted teams share"))
        edges.append(Edge("cq:dws", f"flavor:{d.flavor}", (_units(d.gpus, all_flavors[d.flavor]), _money(cost(d.flavor, d.gpus)))))

    pricer = Pricer(platform, catalog)
    for rf in rendered.flavors:
        f = all_flavors[rf["metadata"]["name"]]
        kind = "NAP shape" if f.is_nap else "node pool"
        at_max = pricer.nodes(f.name, f.machine.name, f.max_nodes, *price_model(f)).monthly
        nodes.append(Node(f"flavor:{f.name}", 2, f.name, (
            f"{f.capacity}, {_money(per_gpu[f.name])} a GPU",
            f"{kind} {f.machine.name}",
            f"{f.gpus_per_node} x {_gpu_name(f.accelerator)} a node, max {f.max_nodes}",
            f"= {f.gpus} GPUs, {_money(at_max)}",
        ), f"{f.name}: {kind} {f.machine.name}, at most {f.max_nodes} nodes, {_money(at_max)} with every node up"))
    return Graph(tuple(nodes), tuple(edges))
