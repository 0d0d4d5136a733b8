"""The queue classes: one row per class, everything the platform derives about a class.

A team submits to a LocalQueue named after the class; the row says which capacity its flavors may
come from (in the order they must be listed), the Kueue policy of its ClusterQueue, the PriorityClass
its jobs carry, and how long its workloads may wait before someone is paged. The config schema's
per-team `queues` and `monitoring.pendingMinutes` sections, the ClusterQueues, the admission policy,
the checks and the dashboards all read this table, so a new class is one new row.

Kueue takes a Workload's priority from its pods' PriorityClass when the job names no
WorkloadPriorityClass (Kueue `site/content/en/docs/concepts/workload_priority_class.md`), and a pod
without `priorityClassName` gets the cluster's global default. So the queue a job is submitted to and
the priority it carries must agree, or a job in the `high` queue runs at `low` and cannot reclaim the
reserved GPUs it is entitled to (enforced by components/kubernetes/admission.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# Capacity kinds a flavor can have: a Provisioning value of its GPU pool, or COMPACT for NAP shapes.
RESERVED, ON_DEMAND, SPOT, DWS_CAPACITY, COMPACT = "reserved", "on-demand", "spot", "dws", "compact"


@dataclass(frozen=True)
class PriorityClass:
    value: int
    preemption_policy: str
    global_default: bool
    description: str


@dataclass(frozen=True)
class QueueClass:
    name: str  # the LocalQueue name in every team namespace
    capacity: tuple[str, ...]  # capacity kinds its flavors may have, in the order they must be listed
    kueue_policy: dict  # the ClusterQueue's queueingStrategy, preemption and flavorFungibility
    pending_minutes: int  # default `monitoring.pendingMinutes.<class>`
    pending_reason: str  # why that default (the config reference shows it)
    priority_class: str  # the PriorityClass its jobs must carry
    priority: Optional[PriorityClass] = None  # the class's own PriorityClass, when it defines one
    per_team: bool = True  # a `queues.<class>` entry per team (false: one ClusterQueue shared by the platform)
    quota_description: Optional[str] = None  # the `queues.<class>` key's description


_NEVER_PREEMPT = {"reclaimWithinCohort": "Never", "withinClusterQueue": "Never"}

QUEUE_CLASSES: tuple[QueueClass, ...] = (
    QueueClass(
        "high", (RESERVED, ON_DEMAND),
        {"queueingStrategy": "StrictFIFO",
         "preemption": {"reclaimWithinCohort": "LowerPriority", "withinClusterQueue": "LowerPriority",
                        "borrowWithinCohort": {"policy": "LowerPriority"}},
         # Use the team's own on-demand quota before borrowing a peer's reserved GPUs.
         "flavorFungibility": {"whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "TryNextFlavor",
                               "preference": "PreemptionOverBorrowing"}},
        15, "High-priority work should start within minutes.", "high",
        PriorityClass(20, "PreemptLowerPriority", False, "Urgent jobs; preempt low-priority work on reserved capacity."),
    ),
    QueueClass(
        # Small low-priority jobs must not wait behind a big one that does not fit.
        "low", (RESERVED, SPOT), {"queueingStrategy": "BestEffortFIFO", "preemption": _NEVER_PREEMPT},
        240, "Low-priority work waits for spot or borrowed capacity.", "low",
        PriorityClass(10, "Never", True, "Default for batch work: never preempts; borrowed capacity is reclaimable."),
    ),
    QueueClass(
        "compact", (COMPACT,),
        {"queueingStrategy": "StrictFIFO",
         "preemption": {"reclaimWithinCohort": "LowerPriority", "withinClusterQueue": "LowerPriority"}},
        120, "NAP builds a compact-placement pool per job.", "compact",
        PriorityClass(15, "PreemptLowerPriority", False, "Compact-placement jobs; preempt low-priority work."),
    ),
    QueueClass(
        # Notebooks and small jobs on shared GPUs: a small job must not wait behind one that does not fit,
        # nothing is preempted for a shared unit, and the PriorityClass sits above the batch default so
        # an interactive session is not queued behind batch work.
        "shared", (ON_DEMAND, SPOT), {"queueingStrategy": "BestEffortFIFO", "preemption": _NEVER_PREEMPT},
        30, "A shared GPU unit frees up as soon as a small job ends.", "shared",
        PriorityClass(12, "Never", False, "Notebooks and small jobs on shared GPUs; never preempt."),
        quota_description="Notebooks and small jobs on GPU sharing pools; `gpus` counts shared units (one per container).",
    ),
    QueueClass(
        # Model servers (Deployments whose pods Kueue admits one by one, docs/teams.md "Deploy a model").
        # Never spot: a preempted replica drops requests. Serving reclaims the GPUs it lent (idle serving
        # quota is borrowable by batch) by evicting the lower-priority borrowers, but never preempts to
        # borrow beyond its own quota, and never preempts its own replicas. `lendingLimit: 0` on a serving
        # quota keeps it idle for instant scale-out (Kueue site/.../tasks/run/deployment.md, "Scaling").
        # Its PriorityClass never preempts in kube-scheduler: GPUs change hands only through Kueue quota.
        "serving", (RESERVED, ON_DEMAND),
        {"queueingStrategy": "BestEffortFIFO",
         "preemption": {"reclaimWithinCohort": "LowerPriority", "withinClusterQueue": "Never"}},
        10, "A replica that cannot start leaves a model server short under load.", "serving",
        PriorityClass(30, "Never", False, "Model servers; Kueue reclaims lent serving quota from batch."),
        quota_description="GPUs of the team's model server (docs/teams.md Deploy a model); reserved or on-demand "
        "flavors only.",
    ),
    QueueClass(
        # DWS jobs queue for whole-job capacity in one shared ClusterQueue that never preempts, on nodes
        # provisioned for their own request: they need no power over other work, so they run at the default.
        "dws", (DWS_CAPACITY,), {}, 720, "DWS waits until GKE can provision the whole request.", "low",
        per_team=False,
    ),
)

BY_NAME = {c.name: c for c in QUEUE_CLASSES}
TEAM_CLASSES = tuple(c for c in QUEUE_CLASSES if c.per_team)  # the `queues:` keys of a team, in order
