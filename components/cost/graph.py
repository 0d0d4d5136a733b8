"""The platform as a graph a reviewer can read: teams -> LocalQueues -> ClusterQueues -> cohorts ->
flavors -> node pools / NAP, with quotas, capacity and monthly cost on the edges.

Built from exactly what the program renders (components.kubernetes.render.manifests: the LocalQueues,
ClusterQueues with their cohort and per-flavor GPU quotas) and from the model's flavors, priced with
the cost envelope's per-GPU prices. Pure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

from components.kubernetes.datasets import stand_in_shares
from components.kubernetes.render import manifests
from components.model import Platform, flavors
from components.model.flavors import GPU_RESOURCE
from components.model.prices import PriceCatalog, price_catalog

from .envelope import Pricer, gpu_month, price_model
from .teams import team_costs

COLUMNS = ("Teams", "LocalQueues", "ClusterQueues", "Cohorts", "Flavors", "Pools / NAP")


@dataclass(frozen=True)
class Node:
    id: str
    column: int
    title: str
    detail: str = ""


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str = ""


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _money(value: Optional[float]) -> str:
    return "unpriced" if value is None else f"${value:,.0f}/mo"


def _gpu_quotas(cq: dict) -> list[tuple[str, int, Optional[int]]]:
    """(flavor, nominal GPUs, borrowing limit or None) of a rendered ClusterQueue."""
    out = []
    for group in cq["spec"]["resourceGroups"]:
        for flavor in group["flavors"]:
            gpu = next(r for r in flavor["resources"] if r["name"] == GPU_RESOURCE)
            limit = gpu.get("borrowingLimit")
            out.append((flavor["name"], int(gpu["nominalQuota"]), None if limit is None else int(limit)))
    return out


def platform_graph(platform: Platform, catalog: Optional[PriceCatalog] = None) -> Graph:
    catalog = catalog or price_catalog()
    rendered = manifests(platform, {t.name: "" for t in platform.teams}, stand_in_shares(platform))
    all_flavors = flavors(platform)
    per_gpu = {name: gpu_month(f, platform, catalog).monthly for name, f in all_flavors.items()}
    cost = lambda flavor, gpus: None if per_gpu[flavor] is None else gpus * per_gpu[flavor]  # noqa: E731
    nodes: list[Node] = []
    edges: list[Edge] = []
    teams = {t.team: t for t in team_costs(platform, catalog)}

    cluster_queues = list(rendered.dws)
    for name, team in rendered.teams.items():
        t = teams[name]
        budget = f", budget ${t.budget:,.0f}" if t.budget else ""
        nodes.append(Node(f"team:{name}", 0, name, f"quota {_money(t.nominal)}, burst {_money(t.burst)}{budget}"))
        for lq in team.local_queues:
            lq_id = f"lq:{name}/{lq['metadata']['name']}"
            nodes.append(Node(lq_id, 1, f"{name}/{lq['metadata']['name']}", "LocalQueue"))
            edges.append(Edge(f"team:{name}", lq_id))
            edges.append(Edge(lq_id, f"cq:{lq['spec']['clusterQueue']}"))
        cluster_queues += team.cluster_queues

    cohort_quota: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for cq in (o for o in cluster_queues if o["kind"] == "ClusterQueue"):
        cq_name = cq["metadata"]["name"]
        quotas = _gpu_quotas(cq)
        gpus = sum(g for _, g, _ in quotas)
        nominal = [cost(f, g) for f, g, _ in quotas]
        total = None if None in nominal else sum(nominal)
        nodes.append(Node(f"cq:{cq_name}", 2, cq_name, ", ".join(f"{f} {g}" + (f" (+{b})" if b else "") for f, g, b in quotas)))
        cohort = cq["spec"].get("cohortName")
        if cohort:
            edges.append(Edge(f"cq:{cq_name}", f"cohort:{cohort}", f"{gpus} GPUs, {_money(total)}"))
            for f, g, b in quotas:
                cohort_quota[(cohort, f)][0] += g
                cohort_quota[(cohort, f)][1] += b or 0
        else:
            for f, g, _ in quotas:
                edges.append(Edge(f"cq:{cq_name}", f"flavor:{f}", f"{g} GPUs, {_money(cost(f, g))}"))
    for obj in rendered.cohorts:
        nodes.append(Node(f"cohort:{obj['metadata']['name']}", 3, obj["metadata"]["name"], "Cohort"))
    for (cohort, f), (gpus, borrow) in cohort_quota.items():
        edges.append(Edge(f"cohort:{cohort}", f"flavor:{f}", f"{gpus} GPUs (+{borrow} borrowable), {_money(cost(f, gpus))}"))

    pricer = Pricer(platform, catalog)
    for rf in rendered.flavors:
        flavor = all_flavors[rf["metadata"]["name"]]
        nodes.append(Node(f"flavor:{flavor.name}", 4, flavor.name, f"{flavor.capacity}, {_money(per_gpu[flavor.name])} per GPU"))
        kind = "NAP shape" if flavor.is_nap else "node pool"
        nodes.append(Node(f"pool:{flavor.name}", 5, f"{kind} {flavor.name}", f"{flavor.machine.name}, {flavor.gpus_per_node} x {flavor.accelerator}"))
        at_max = pricer.nodes(flavor.name, flavor.machine.name, flavor.max_nodes, *price_model(flavor)).monthly
        edges.append(Edge(f"flavor:{flavor.name}", f"pool:{flavor.name}",
                          f"max {flavor.max_nodes} nodes = {flavor.gpus} GPUs, {_money(at_max)}"))
    return Graph(tuple(nodes), tuple(edges))
