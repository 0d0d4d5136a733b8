"""What a reviewer of a capacity change needs, read from the plan's resources (so any revision compares):
GPU quota per team and flavor (ClusterQueues), GPUs per static pool (node pools), NAP limits (cluster)."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

GPU = "nvidia.com/gpu"
TEAM_LABEL = "batch-platform/team"
T_CQ = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
T_POOL = "gcp:container/nodePool:NodePool"
T_CLUSTER = "gcp:container/cluster:Cluster"


def _int(value) -> int:
    return int(float(value)) if value not in (None, "") else 0


def quotas(resources: Iterable[dict]) -> dict[tuple[str, str], tuple[int, int | None]]:
    """(team, flavor) -> (nominal GPUs, borrowing limit GPUs or None = unlimited), summed over the team's
    ClusterQueues; the shared DWS queue counts as team `dws`. Without a limit a queue in a cohort may
    borrow without bound (Kueue ClusterQueue docs); without a cohort it cannot borrow at all."""
    nominal: dict[tuple[str, str], int] = defaultdict(int)
    borrow: dict[tuple[str, str], int | None] = defaultdict(int)
    for r in resources:
        if r["type"] != T_CQ:
            continue
        meta, spec = r["inputs"]["metadata"], r["inputs"]["spec"]
        team = meta.get("labels", {}).get(TEAM_LABEL, meta["name"])
        for group in spec["resourceGroups"]:
            for flavor in group["flavors"]:
                gpu = next((x for x in flavor["resources"] if x["name"] == GPU), None)
                if gpu is None:
                    continue
                key = (team, flavor["name"])
                nominal[key] += _int(gpu.get("nominalQuota"))
                limit = _int(gpu["borrowingLimit"]) if "borrowingLimit" in gpu else (None if spec.get("cohortName") else 0)
                borrow[key] = None if limit is None or borrow[key] is None else borrow[key] + limit
    return {k: (nominal[k], borrow[k]) for k in nominal}


def _gpus_of_pool(inputs: dict) -> int:
    """The most GPUs a node pool can hold: fixed size or autoscaling maximum x GPUs per node (0 for CPU pools)."""
    accels = (inputs.get("nodeConfig") or {}).get("guestAccelerators") or []
    nodes = inputs.get("nodeCount") or (inputs.get("autoscaling") or {}).get("totalMaxNodeCount", 0)
    return _int(nodes) * sum(_int(a.get("count")) for a in accels)


def pool_gpus(resources: Iterable[dict]) -> dict[str, int]:
    """Static GPU pool -> most GPUs it can hold."""
    return {r["inputs"]["name"]: _gpus_of_pool(r["inputs"]) for r in resources
            if r["type"] == T_POOL and (r["inputs"].get("nodeConfig") or {}).get("guestAccelerators")}


def delete_first_gap(type_: str, inputs: dict, options: dict) -> str | None:
    """What a delete-first replacement takes away until the successor is up, for GPU pools (None otherwise).

    A reserved pool is replaced delete-first (components/gcp/node_pools.py): its reservation has no
    room for a second pool, so its reserved GPUs are gone for the whole swap, and a reviewer must see it."""
    if type_ != T_POOL or not options.get("deleteBeforeReplace"):
        return None
    affinity = (inputs.get("nodeConfig") or {}).get("reservationAffinity") or {}
    gpus = _gpus_of_pool(inputs)
    what = "reserved GPUs" if affinity.get("consumeReservationType") == "SPECIFIC_RESERVATION" else "GPUs"
    return (f"CAPACITY GAP: its {gpus} {what} are gone from the delete until the new pool's nodes are up "
            "(the old pool is deleted first; schedule it when the queues can wait)")


def nap_limits(resources: Iterable[dict]) -> dict[str, int]:
    """Cluster autoscaler (NAP) maximum per resource type: cpu, memory (GB), each accelerator."""
    for r in resources:
        if r["type"] == T_CLUSTER:
            limits = (r["inputs"].get("clusterAutoscaling") or {}).get("resourceLimits") or []
            return {x["resourceType"]: _int(x.get("maximum")) for x in limits}
    return {}
