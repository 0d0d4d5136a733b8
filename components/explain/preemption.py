"""Kueue's classical preemption: which admitted workloads an incoming one evicts, and the oracle the
flavor assigner asks per (flavor, resource).

Encodes Kueue v0.19.2 on flat cohorts (no fair sharing, nothing already evicted):
- `pkg/scheduler/preemption/preemption.go` `classicalPreemptions`: the attempt order (only "borrowing
  allowed" when no candidate is in another queue, or when borrowWithinCohort is off and the queue is
  not under its nominal quota; "without borrowing" first when borrowWithinCohort is off and no
  candidate is a hierarchical reclaim; else "borrowing allowed" first), candidates removed in order
  while valid until the workload fits (`workloadFits`), then `fillBackWorkloads`: earlier targets put
  back, from the second-last down, while it still fits;
- `preemption/classical/candidate_generator.go`: candidates from other queues first (hierarchical
  reclaim, then priority-based), then the queue's own, each list in `common/ordering.go`
  CandidatesOrdering (other queue first, lower priority first, most recently admitted first);
  `candidateIsValid`: a workload of another queue only while that queue is above its nominal quota in
  the resources needing preemption, and not a "reclaim without borrowing" one when borrowing;
- `hierarchical_preemption.go` `classifyPreemptionVariant` (the queue's withinClusterQueue /
  reclaimWithinCohort policy, `SatisfiesPreemptionPolicy` in `common/preemption_policy.go` with
  LowerOrNewerEqualPriority comparing creation times; a hierarchical advantage when the request fits
  the queue's own nominal quota; borrowWithinCohort and its maxPriorityThreshold);
- `preemption_oracle.go` `SimulatePreemption`: no targets -> NoCandidates; a target in the queue
  itself -> Preempt, else Reclaim; with the borrowing level after removing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .quota import FR, Queue, Quotas, Running

PREEMPT, RECLAIM, NO_CANDIDATES = "Preempt", "Reclaim", "NoCandidates"
WITHIN_CQ, HIERARCHICAL, RECLAIM_WITHOUT_BORROWING, RECLAIM_WHILE_BORROWING = range(4)
# preemptionVariant.PreemptionReason, and the words Kueue's eviction message uses for each.
REASONS = {WITHIN_CQ: "InClusterQueue", HIERARCHICAL: "InCohortReclamation",
           RECLAIM_WITHOUT_BORROWING: "InCohortReclamation", RECLAIM_WHILE_BORROWING: "InCohortReclaimWhileBorrowing"}
WORDS = {"InClusterQueue": "prioritization in the ClusterQueue", "InCohortReclamation": "reclamation within the cohort",
         "InCohortReclaimWhileBorrowing": "reclamation within the cohort while borrowing"}


@dataclass
class Target:
    workload: "Running"
    reason: str


def satisfies(policy: str, incoming: "Running", candidate: "Running") -> bool:
    """SatisfiesPreemptionPolicy (SchedulerTimestampPreemptionBuffer is alpha, off by default)."""
    lower = incoming.priority > candidate.priority
    if policy == "LowerPriority":
        return lower
    if policy == "LowerOrNewerEqualPriority":
        return lower or (incoming.priority == candidate.priority and incoming.created_at < candidate.created_at)
    return policy == "Any"


def _variant(q: "Queue", incoming: "Running", w: "Running", frs: set, advantage: bool):
    if not any(fr in w.usage for fr in frs):
        return None
    same = w.cluster_queue == q.name
    if not satisfies(q.preemption["withinClusterQueue" if same else "reclaimWithinCohort"], incoming, w):
        return None
    if same:
        return WITHIN_CQ
    if advantage:
        return HIERARCHICAL
    bwc = q.borrow_within_cohort
    if bwc.get("policy", "Never") == "Never":
        return RECLAIM_WITHOUT_BORROWING
    threshold = bwc.get("maxPriorityThreshold")
    if w.priority >= incoming.priority or (threshold is not None and w.priority > int(threshold)):
        return RECLAIM_WITHOUT_BORROWING
    return RECLAIM_WHILE_BORROWING


def _order(q: "Queue"):
    return lambda c: (c[0].cluster_queue == q.name, c[0].priority, -c[0].admitted_at, c[0].name)


def candidates(quotas: "Quotas", q: "Queue", incoming: "Running", requests: dict, frs: set):
    """(ordered [(workload, variant)], no candidate from other queues, no hierarchical-reclaim candidate)."""
    admitted = quotas.admitted()
    same = []
    if q.preemption["withinClusterQueue"] != "Never":
        same = [(w, v) for w in admitted if w.cluster_queue == q.name
                and (v := _variant(q, incoming, w, frs, False)) is not None]
    hierarchy, by_priority = [], []
    if q.cohort and q.preemption["reclaimWithinCohort"] != "Never":
        advantage = quotas.fits_in_nominal(q, requests)
        into = hierarchy if advantage else by_priority
        for m in quotas.members(q.cohort):
            if m.name == q.name or quotas.within_nominal(m, frs):
                continue
            into += [(w, v) for w in admitted if w.cluster_queue == m.name
                     and (v := _variant(q, incoming, w, frs, advantage)) is not None]
    ordered = sorted(hierarchy, key=_order(q)) + sorted(by_priority, key=_order(q)) + sorted(same, key=_order(q))
    return ordered, not hierarchy and not by_priority, not hierarchy


def _valid(quotas: "Quotas", q: "Queue", w: "Running", variant: int, frs: set, borrowing: bool) -> bool:
    if w.cluster_queue == q.name:
        return True
    if borrowing and variant == RECLAIM_WITHOUT_BORROWING:
        return False
    return not quotas.within_nominal(quotas.queues[w.cluster_queue], frs)


def _fits(quotas: "Quotas", q: "Queue", requests: dict, borrowing: bool) -> bool:
    return all((borrowing or not quotas.borrowing_with(q, fr, v)) and v <= quotas.available(q, fr)
               for fr, v in requests.items())


def get_targets(quotas: "Quotas", q: "Queue", incoming: "Running", requests: dict, frs: set) -> list[Target]:
    """classicalPreemptions: the workloads to evict so `requests` {(flavor, resource): amount} fit."""
    ordered, none_from_others, no_hierarchical = candidates(quotas, q, incoming, requests, frs)
    forbidden = q.borrow_within_cohort.get("policy", "Never") == "Never"
    under_nominal = all(q.nominal.get(fr, 0) > quotas.usage(q.name, fr) for fr in frs)
    if none_from_others or (forbidden and not under_nominal):
        attempts = [True]
    elif forbidden and no_hierarchical:
        attempts = [False, True]
    else:
        attempts = [True, False]
    for borrowing in attempts:
        targets: list[Target] = []
        for w, variant in ordered:
            if not _valid(quotas, q, w, variant, frs, borrowing):
                continue
            quotas.remove(w)
            targets.append(Target(w, REASONS[variant]))
            if _fits(quotas, q, requests, borrowing):
                targets = _fill_back(quotas, q, requests, targets, borrowing)
                for t in targets:
                    quotas.add(t.workload)
                return targets
        for t in targets:
            quotas.add(t.workload)
    return []


def _fill_back(quotas: "Quotas", q: "Queue", requests: dict, targets: list[Target], borrowing: bool) -> list[Target]:
    for i in range(len(targets) - 2, -1, -1):
        quotas.add(targets[i].workload)
        if _fits(quotas, q, requests, borrowing):
            targets[i] = targets[-1]  # upstream's O(1) deletion: the last target takes its place
            targets.pop()
        else:
            quotas.remove(targets[i].workload)
    return targets


def simulate(quotas: "Quotas", q: "Queue", incoming: "Running", fr: "FR", amount: int) -> tuple[str, int]:
    """SimulatePreemption for one (flavor, resource): the preemption possibility and borrowing level."""
    targets = get_targets(quotas, q, incoming, {fr: amount}, {fr})
    if not targets:
        return NO_CANDIDATES, quotas.borrow_level(q, fr, amount)[0]
    for t in targets:
        quotas.remove(t.workload)
    borrow = quotas.borrow_level(q, fr, amount)[0]
    for t in targets:
        quotas.add(t.workload)
    return (PREEMPT if any(t.workload.cluster_queue == q.name for t in targets) else RECLAIM), borrow
