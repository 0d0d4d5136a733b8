"""What the model servers cost: the floor they keep running and the burst they can scale to.

A replica runs on a node of its serving queue's first flavor (Kueue tries a queue's flavors in order);
the cluster autoscaler keeps a whole node for it, so the floor is the nodes `minReplicas` fill and the
burst the nodes `maxReplicas` fill, each at the flavor's price model (components/cost/envelope.py). A
floor on a reserved flavor costs nothing more: the reservation is already in the idle floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.model import Platform, flavors
from components.model.flavors import Flavor
from components.model.prices import PriceCatalog, price_catalog
from components.model.queue_classes import RESERVED
from components.model.schema import Team

from .envelope import Line, Pricer, price_model, usd


@dataclass(frozen=True)
class ServingCost:
    team: str
    flavor: str
    min_replicas: int
    max_replicas: int
    floor_nodes: int
    burst_nodes: int
    floor: Line  # what minReplicas keeps running (0 on a reserved flavor: already billed)
    burst: Line  # every replica up: maxReplicas' nodes

    def to_json(self) -> dict:
        return {"team": self.team, "flavor": self.flavor, "minReplicas": self.min_replicas,
                "maxReplicas": self.max_replicas, "floorNodes": self.floor_nodes, "burstNodes": self.burst_nodes,
                "floorMonthlyUsd": usd(self.floor.monthly), "burstMonthlyUsd": usd(self.burst.monthly)}


def replicas_per_node(flavor: Flavor, gpus_per_replica: int) -> int:
    """Replicas one node holds: its advertised `nvidia.com/gpu` (shared units on a sharing pool) over a replica's."""
    return max(1, flavor.gpu_units_per_node // gpus_per_replica)


def _nodes(replicas: int, per_node: int) -> int:
    return -(-replicas // per_node)


def _cost(pricer: Pricer, team: Team, flavor: Flavor) -> ServingCost:
    server = team.serving
    per_node = replicas_per_node(flavor, server.gpus_per_replica)
    floor_nodes, burst_nodes = _nodes(server.min_replicas, per_node), _nodes(server.max_replicas, per_node)
    model, caveat = price_model(flavor)
    item = f"{team.name} model server"
    burst = pricer.nodes(f"{item} (max {server.max_replicas})", flavor.machine.name, burst_nodes, model, caveat)
    if flavor.capacity == RESERVED:
        floor = Line(f"{item} (min {server.min_replicas})", f"{floor_nodes} x {flavor.machine.name} in the "
                     f"{flavor.name} reservation (already in the idle floor)", 0.0)
    else:
        floor = pricer.nodes(f"{item} (min {server.min_replicas})", flavor.machine.name, floor_nodes, model, caveat)
    return ServingCost(team.name, flavor.name, server.min_replicas, server.max_replicas, floor_nodes, burst_nodes,
                       floor, burst)


def serving_costs(platform: Platform, catalog: Optional[PriceCatalog] = None) -> list[ServingCost]:
    """One entry per team that runs a model server."""
    pricer = Pricer(platform, catalog or price_catalog())
    known = flavors(platform)
    return [_cost(pricer, t, known[t.queues.serving[0].flavor]) for t in platform.teams
            if t.serving and t.queues.serving and t.queues.serving[0].flavor in known]
