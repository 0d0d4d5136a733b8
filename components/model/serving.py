"""A team's model server, as quota sees it: replicas per flavor, the floor and the most it can scale to.

Kueue admits a Deployment's pods one by one (the `deployment` integration builds on the plain-pod one:
"every Pod from a Deployment is represented as a single independent Plain Pod", Kueue v0.19.2
site/content/en/docs/tasks/run/deployment.md), so a replica is admitted whole in one flavor of the
team's `serving` ClusterQueue or not at all. The replicas a flavor can ever hold are therefore its
ceiling (the ledger's potentialAvailable) divided by the GPUs of one replica, rounded down; the floor
(`minReplicas`) must fit the serving quota's own nominal GPUs, because borrowed GPUs are reclaimed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .errors import Issue
from .flavors import Flavor, flavors
from .ledger import ledger
from .schema import Platform, Team

SERVING = "serving"
# The custom pods metric a model server's HPA reads: the metrics adapter derives it from the DCGM
# exporter's DCGM_FI_DEV_GPU_UTIL (components/monitoring/adapter.py).
SERVING_METRIC = "gpu_duty_cycle"


@dataclass(frozen=True)
class ServingCapacity:
    """What the team's serving quota holds, in replicas of the team's server."""

    gpus_per_replica: int
    floor_replicas: int  # replicas its own nominal quota holds (never reclaimed)
    ceiling_replicas: int  # replicas it can ever hold, borrowing included


def replica_fits(flavor: Flavor, gpus: int) -> bool:
    """One replica on one node: a sharing pool gives a container one unit at most (model/sharing.py)."""
    return gpus <= (1 if flavor.sharing else flavor.gpus_per_node)


def capacity(platform: Platform, team: Team) -> ServingCapacity:
    gpus = team.serving.gpus_per_replica if team.serving else 1
    quotas = ledger(platform)
    known = flavors(platform)
    entries = [e for e in quotas.of_team(team) if e.queue_class == SERVING
               and e.flavor in known and replica_fits(known[e.flavor], gpus)]
    return ServingCapacity(gpus, sum(e.nominal // gpus for e in entries),
                           sum(quotas.ceiling(e) // gpus for e in entries))


def serving_issues(p: Platform) -> Iterator[Issue]:
    """A model server that can never start, or never scale to its maxReplicas, within its quota."""
    known = flavors(p)
    for t, team in enumerate(p.teams):
        server = team.serving
        if server is None:
            continue
        path = f"teams[{t}].serving"
        if not p.monitoring.enabled:
            yield Issue(path, "a model server autoscales on a metric served from the platform's Prometheus, and "
                        "monitoring is off", "set monitoring.enabled: true (or remove serving)")
        if not team.queues.serving:
            yield Issue(f"teams[{t}].queues.serving", f"team {team.name!r} has a model server but no serving quota",
                        "add queues.serving: [{flavor: <a reserved or on-demand pool>, gpus: <maxReplicas x "
                        "gpusPerReplica>}]")
            continue
        if any(q.flavor not in known for q in team.queues.serving):
            continue  # the unknown flavor is reported by the queue checks
        listed = [known[q.flavor] for q in team.queues.serving]
        if not any(replica_fits(f, server.gpus_per_replica) for f in listed):
            most = max(1 if f.sharing else f.gpus_per_node for f in listed)
            yield Issue(f"{path}.gpusPerReplica", f"{server.gpus_per_replica} GPUs per replica fit no node of the "
                        f"serving flavors ({', '.join(f.name for f in listed)}: at most {most})",
                        f"set gpusPerReplica: {most}", example=most)
            continue
        if server.min_replicas > server.max_replicas:
            yield Issue(f"{path}.minReplicas", f"minReplicas {server.min_replicas} is above maxReplicas "
                        f"{server.max_replicas}", f"set minReplicas: {server.max_replicas}", example=server.max_replicas)
            continue
        cap = capacity(p, team)
        if server.max_replicas > cap.ceiling_replicas:
            yield Issue(f"{path}.maxReplicas", f"the serving quota can never hold {server.max_replicas} replicas of "
                        f"{cap.gpus_per_replica} GPU(s): Kueue admits at most {cap.ceiling_replicas}, borrowing included",
                        (f"set maxReplicas: {cap.ceiling_replicas} or " if cap.ceiling_replicas else "")
                        + "raise queues.serving gpus",
                        example=cap.ceiling_replicas if cap.ceiling_replicas >= server.min_replicas else None)
        if server.min_replicas > cap.floor_replicas:
            yield Issue(f"{path}.minReplicas", f"minReplicas {server.min_replicas} needs {server.min_replicas * cap.gpus_per_replica} "
                        f"GPUs of the serving quota's own (nominal) GPUs, which hold {cap.floor_replicas} replica(s); "
                        "borrowed GPUs are reclaimed, so the floor would not hold",
                        f"raise queues.serving gpus to {server.min_replicas * cap.gpus_per_replica}"
                        + (f" or set minReplicas: {cap.floor_replicas}" if cap.floor_replicas else ""),
                        example=cap.floor_replicas or None)
