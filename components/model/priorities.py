"""Queue classes and the pod priority each one implies (D3).

Kueue takes a Workload's priority from its pods' PriorityClass when the job names no
WorkloadPriorityClass (Kueue `site/content/en/docs/concepts/workload_priority_class.md`), and a pod
without `priorityClassName` gets the cluster's global default. So the queue a job is submitted to and
the priority it carries must agree, or a job in the `high` queue runs at `low` and cannot reclaim the
reserved GPUs it is entitled to. The admission policy in components/kubernetes/admission.py enforces
`priority_class_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

DWS = "dws"
# The LocalQueue names of a team namespace, in the order the README documents them.
SHARED = "shared"
QUEUE_CLASSES = ("high", "low", "compact", SHARED, DWS)


@dataclass(frozen=True)
class PriorityClass:
    value: int
    preemption_policy: str
    global_default: bool
    description: str

# The platform's own controllers (Kueue, JobSet, monitoring) run at this class.
PLATFORM_SERVICES = "platform-services"

PRIORITY_CLASSES = {
    "low": PriorityClass(10, "Never", True, "Default for batch work: never preempts; borrowed capacity is reclaimable."),
    "compact": PriorityClass(15, "PreemptLowerPriority", False, "Compact-placement jobs; preempt low-priority work."),
    # Notebooks and small jobs on shared GPUs: above the batch default so an interactive session is not
    # queued behind batch work, but they never preempt anything (a shared unit is cheap to wait for).
    SHARED: PriorityClass(12, "Never", False, "Notebooks and small jobs on shared GPUs; never preempt."),
    "high": PriorityClass(20, "PreemptLowerPriority", False, "Urgent jobs; preempt low-priority work on reserved capacity."),
    # Platform controllers run above every batch tier, so the low global default never applies to them
    # and no batch job can preempt them.
    PLATFORM_SERVICES: PriorityClass(100000, "PreemptLowerPriority", False, "Kueue, JobSet and monitoring controllers."),
}
DEFAULT_PRIORITY_CLASS = next(name for name, pc in PRIORITY_CLASSES.items() if pc.global_default)

# DWS jobs queue for whole-job capacity in one shared ClusterQueue that never preempts, on nodes
# provisioned for their own request: they need no power over other work, so they run at the default.
_CLASS_PRIORITY = {"high": "high", "low": "low", "compact": "compact", SHARED: SHARED, DWS: DEFAULT_PRIORITY_CLASS}


def priority_class_for(queue_class: str) -> str:
    """The pod priorityClassName a job submitted to LocalQueue `queue_class` must carry."""
    try:
        return _CLASS_PRIORITY[queue_class]
    except KeyError:
        raise ValueError(f"unknown queue class {queue_class!r}; expected one of {', '.join(QUEUE_CLASSES)}") from None
