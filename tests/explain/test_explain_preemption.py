"""`explain`'s preemption against Kueue's own unit tests, restated case by case with the same queues,
workloads, priorities, requests and expected victims (and eviction reasons):
- kubernetes-sigs/kueue v0.19.2 `pkg/scheduler/preemption/preemption_test.go` TestPreemption (the
  classical cases; "long range preemption" needs nested cohorts, which explain refuses as not modelled);
- `pkg/scheduler/flavorassigner/flavorassigner_test.go` TestIsPreferred and
  TestReclaimBeforePriorityPreemption (whose fixed `testOracle` answers are passed as the oracle).
"""

from __future__ import annotations

import pytest

from components.explain.quantity import parse
from components.explain.quota import (FIT, NO_CANDIDATES, NO_FIT, PREEMPT, RECLAIM, Queue, Quotas, Running, assign,
                                      is_preferred)
from components.explain import preemption

LOWER, ANY, NEVER, NEWER = "LowerPriority", "Any", "Never", "LowerOrNewerEqualPriority"
BWC = {"policy": "LowerPriority", "maxPriorityThreshold": 0}


def cq(name, groups, cohort=None, within=NEVER, reclaim=NEVER, borrow_within=None, **spec):
    """A ClusterQueue: groups is [{flavor: {resource: "nominal" | (nominal, borrowingLimit, lendingLimit)}}]."""
    resource_groups = []
    for group in groups:
        covered = list(dict.fromkeys(r for quotas in group.values() for r in quotas))
        flavors = []
        for flavor, quotas in group.items():
            resources = []
            for r, q in quotas.items():
                nominal, borrowing, lending = (q, None, None) if isinstance(q, str) else (q + (None, None))[:3]
                resources.append({"name": r, "nominalQuota": nominal,
                                  **({"borrowingLimit": borrowing} if borrowing else {}),
                                  **({"lendingLimit": lending} if lending else {})})
            flavors.append({"name": flavor, "resources": resources})
        resource_groups.append({"coveredResources": covered, "flavors": flavors})
    preemption_ = {"withinClusterQueue": within, "reclaimWithinCohort": reclaim,
                   **({"borrowWithinCohort": borrow_within} if borrow_within else {})}
    out = {"metadata": {"name": name}, "spec": {"resourceGroups": resource_groups, "preemption": preemption_, **spec}}
    if cohort:
        out["spec"]["cohortName"] = cohort
    return Queue.from_object(out)


# TestPreemption's defaultClusterQueues.
QUEUES = {q.name: q for q in (
    cq("standalone", [{"default": {"cpu": "6"}}, {"alpha": {"memory": "3Gi"}, "beta": {"memory": "3Gi"}}], within=LOWER),
    cq("c1", [{"default": {"cpu": ("6", "6"), "memory": ("3Gi", "3Gi")}}], "cohort", LOWER, LOWER),
    cq("c2", [{"default": {"cpu": ("6", "6"), "memory": ("3Gi", "3Gi")}}], "cohort", NEVER, ANY),
    cq("d1", [{"default": {"cpu": "6", "memory": "3Gi"}}], "cohort-no-limits", LOWER, LOWER),
    cq("d2", [{"default": {"cpu": "6", "memory": "3Gi"}}], "cohort-no-limits", NEVER, ANY),
    cq("l1", [{"default": {"cpu": ("6", "12"), "memory": ("3Gi", "6Gi")}}], "legion", LOWER, LOWER),
    cq("preventStarvation", [{"default": {"cpu": "6"}}], within=NEWER),
    cq("a_standard", [{"default": {"cpu": ("1", "12")}}], "with_shared_cq", NEVER, LOWER, BWC),
    cq("b_standard", [{"default": {"cpu": ("1", "12")}}], "with_shared_cq", LOWER, ANY, BWC),
    cq("a_best_effort", [{"default": {"cpu": ("1", "12")}}], "with_shared_cq", NEVER, LOWER, BWC),
    cq("b_best_effort", [{"default": {"cpu": ("0", "13")}}], "with_shared_cq", NEVER, LOWER, BWC),
    cq("shared", [{"default": {"cpu": "10"}}], "with_shared_cq"),
    cq("lend1", [{"default": {"cpu": ("6", None, "4")}}], "cohort-lend", LOWER, LOWER),
    cq("lend2", [{"default": {"cpu": ("6", None, "2")}}], "cohort-lend", LOWER, LOWER),
    cq("a", [{"default": {"cpu": "2", "memory": "2"}}], "cohort-three", LOWER, ANY),
    cq("b", [{"default": {"cpu": "2", "memory": "2"}}], "cohort-three"),
    cq("c", [{"default": {"cpu": "2", "memory": "2"}}], "cohort-three"),
)}


def use(spec: str) -> dict:
    """"default:cpu=2,memory=1Gi" -> {("default", "cpu"): 2000, ("default", "memory"): 2**30}."""
    flavor, amounts = spec.split(":")
    return {(flavor, r): parse(r, v) for r, v in (a.split("=") for a in amounts.split(","))}


def wl(name, priority, queue, spec, admitted_at=0.0, created_at=0.0):
    return Running(name, queue, use(spec), priority, admitted_at, created_at)


# (case name, admitted, target queue, incoming priority, incoming usage, resources in Preempt mode, evicted+reason)
CASES = [
    ("preempt lowest priority",
     [wl("low", -1, "standalone", "default:cpu=2"), wl("mid", 0, "standalone", "default:cpu=2"),
      wl("high", 1, "standalone", "default:cpu=2")],
     "standalone", 1, "default:cpu=2", {("default", "cpu")}, {"low": "InClusterQueue"}),
    ("preempt multiple",
     [wl("low", -1, "standalone", "default:cpu=2"), wl("mid", 0, "standalone", "default:cpu=2"),
      wl("high", 1, "standalone", "default:cpu=2")],
     "standalone", 1, "default:cpu=3", {("default", "cpu")}, {"low": "InClusterQueue", "mid": "InClusterQueue"}),
    ("no preemption for low priority",
     [wl("low", -1, "standalone", "default:cpu=3"), wl("mid", 0, "standalone", "default:cpu=3")],
     "standalone", -1, "default:cpu=1", {("default", "cpu")}, {}),
    ("not enough low priority workloads",
     [wl("low", -1, "standalone", "default:cpu=3"), wl("mid", 0, "standalone", "default:cpu=3")],
     "standalone", 0, "default:cpu=4", {("default", "cpu")}, {}),
    ("some free quota, preempt low priority",
     [wl("low", -1, "standalone", "default:cpu=1"), wl("mid", 0, "standalone", "default:cpu=1"),
      wl("high", 1, "standalone", "default:cpu=3")],
     "standalone", 1, "default:cpu=2", {("default", "cpu")}, {"low": "InClusterQueue"}),
    ("minimal set excludes low priority",  # fill-back puts `low` back once `mid` is out
     [wl("low", -1, "standalone", "default:cpu=1"), wl("mid", 0, "standalone", "default:cpu=2"),
      wl("high", 1, "standalone", "default:cpu=3")],
     "standalone", 1, "default:cpu=2", {("default", "cpu")}, {"mid": "InClusterQueue"}),
    ("only preempt workloads using the chosen flavor",
     [wl("low", -1, "standalone", "alpha:memory=2Gi"), wl("mid", 0, "standalone", "beta:memory=1Gi"),
      wl("high", 1, "standalone", "beta:memory=1Gi")],
     "standalone", 1, "default:cpu=1|beta:memory=2Gi", {("beta", "memory")}, {"mid": "InClusterQueue"}),
    ("reclaim quota from borrower",
     [wl("c1-low", -1, "c1", "default:cpu=3"), wl("c2-mid", 0, "c2", "default:cpu=3"), wl("c2-high", 1, "c2", "default:cpu=6")],
     "c1", 1, "default:cpu=3", {("default", "cpu")}, {"c2-mid": "InCohortReclamation"}),
    ("reclaim quota if workload requests 0 resources for a resource at nominal quota",
     [wl("c1-low", -1, "c1", "default:cpu=3,memory=3Gi"), wl("c2-mid", 0, "c2", "default:cpu=3"),
      wl("c2-high", 1, "c2", "default:cpu=6")],
     "c1", 1, "default:cpu=3,memory=0", {("default", "cpu")}, {"c2-mid": "InCohortReclamation"}),
    ("no workloads borrowing",
     [wl("c1-high", 1, "c1", "default:cpu=4"), wl("c2-low-1", -1, "c2", "default:cpu=4")],
     "c1", 1, "default:cpu=4", {("default", "cpu")}, {}),
    ("not enough workloads borrowing",
     [wl("c1-high", 1, "c1", "default:cpu=4"), wl("c2-low-1", -1, "c2", "default:cpu=4"), wl("c2-low-2", -1, "c2", "default:cpu=4")],
     "c1", 1, "default:cpu=4", {("default", "cpu")}, {}),
    ("preempting locally and borrowing other resources in cohort, without cohort candidates",
     [wl("c1-low", -1, "c1", "default:cpu=4"), wl("c2-low-1", -1, "c2", "default:cpu=4"), wl("c2-high-2", 1, "c2", "default:cpu=4")],
     "c1", 1, "default:cpu=4,memory=5Gi", {("default", "cpu"), ("default", "memory")}, {"c1-low": "InClusterQueue"}),
    ("preempting locally and borrowing same resource in cohort",
     [wl("c1-med", 0, "c1", "default:cpu=4"), wl("c1-low", -1, "c1", "default:cpu=4"), wl("c2-low-1", -1, "c2", "default:cpu=4")],
     "c1", 1, "default:cpu=4", {("default", "cpu")}, {"c1-low": "InClusterQueue"}),
    ("preempting locally and borrowing same resource in cohort; no borrowing limit in the cohort",
     [wl("d1-med", 0, "d1", "default:cpu=4"), wl("d1-low", -1, "d1", "default:cpu=4"), wl("d2-low-1", -1, "d2", "default:cpu=4")],
     "d1", 1, "default:cpu=4", {("default", "cpu")}, {"d1-low": "InClusterQueue"}),
    ("preempting locally and borrowing other resources in cohort, with cohort candidates",
     [wl("c1-med", 0, "c1", "default:cpu=4"), wl("c2-low-1", -1, "c2", "default:cpu=5"),
      wl("c2-low-2", -1, "c2", "default:cpu=1"), wl("c2-low-3", -1, "c2", "default:cpu=1")],
     "c1", 1, "default:cpu=2,memory=5Gi", {("default", "cpu"), ("default", "memory")}, {"c1-med": "InClusterQueue"}),
    ("preempting locally and not borrowing same resource in 1-queue cohort",
     [wl("l1-med", 0, "l1", "default:cpu=4"), wl("l1-low", -1, "l1", "default:cpu=2")],
     "l1", 1, "default:cpu=4", {("default", "cpu")}, {"l1-med": "InClusterQueue"}),
    ("do not reclaim borrowed quota from same priority for withinCohort=ReclaimFromLowerPriority",
     [wl("c1", 0, "c1", "default:cpu=2"), wl("c2-1", 0, "c2", "default:cpu=4"), wl("c2-2", 0, "c2", "default:cpu=4")],
     "c1", 0, "default:cpu=4", {("default", "cpu")}, {}),
    ("reclaim borrowed quota from same priority for withinCohort=ReclaimFromAny",
     [wl("c1-1", 0, "c1", "default:cpu=4"), wl("c1-2", 1, "c1", "default:cpu=4"), wl("c2", 0, "c2", "default:cpu=2")],
     "c2", 0, "default:cpu=4", {("default", "cpu")}, {"c1-1": "InCohortReclamation"}),
    ("preempt from all ClusterQueues in cohort",
     [wl("c1-low", -1, "c1", "default:cpu=3"), wl("c1-mid", 0, "c1", "default:cpu=2"),
      wl("c2-low", -1, "c2", "default:cpu=3"), wl("c2-mid", 0, "c2", "default:cpu=4")],
     "c1", 0, "default:cpu=4", {("default", "cpu")}, {"c1-low": "InClusterQueue", "c2-low": "InCohortReclamation"}),
    ("can't preempt workloads in ClusterQueue for withinClusterQueue=Never",
     [wl("c2-low", -1, "c2", "default:cpu=3")], "c2", 1, "default:cpu=4", {("default", "cpu")}, {}),
    ("each podset preempts a different flavor",
     [wl("low-alpha", -1, "standalone", "alpha:memory=2Gi"), wl("low-beta", -1, "standalone", "beta:memory=2Gi")],
     "standalone", 0, "alpha:memory=2Gi|beta:memory=2Gi", {("alpha", "memory"), ("beta", "memory")},
     {"low-alpha": "InClusterQueue", "low-beta": "InClusterQueue"}),
    ("preempt newer workloads with the same priority",  # the most recently admitted goes first
     [wl("wl1", 2, "preventStarvation", "default:cpu=2"), wl("wl2", 1, "preventStarvation", "default:cpu=2", 1.0),
      wl("wl3", 1, "preventStarvation", "default:cpu=2")],
     "preventStarvation", 1, "default:cpu=2", {("default", "cpu")}, {"wl2": "InClusterQueue"}),
    ("use BorrowWithinCohort; allow preempting a lower-priority workload from another ClusterQueue while borrowing",
     [wl("a_best_effort_low", -1, "a_best_effort", "default:cpu=10"), wl("b_best_effort_low", -1, "b_best_effort", "default:cpu=1")],
     "a_standard", 0, "default:cpu=10", {("default", "cpu")}, {"a_best_effort_low": "InCohortReclaimWhileBorrowing"}),
    ("use BorrowWithinCohort; don't allow preempting a lower-priority workload with priority above MaxPriorityThreshold, "
     "if borrowing is required even after the preemption",
     [wl("b_standard", 1, "b_standard", "default:cpu=10")], "a_standard", 2, "default:cpu=10", {("default", "cpu")}, {}),
    ("use BorrowWithinCohort; allow preempting a lower-priority workload with priority above MaxPriorityThreshold, "
     "if borrowing is not required after the preemption",
     [wl("b_standard", 1, "b_standard", "default:cpu=13")], "a_standard", 2, "default:cpu=1", {("default", "cpu")},
     {"b_standard": "InCohortReclamation"}),
    ("use BorrowWithinCohort; don't allow for preemption of lower-priority workload from the same ClusterQueue",
     [wl("a_standard", 1, "a_standard", "default:cpu=13")], "a_standard", 2, "default:cpu=1", {("default", "cpu")}, {}),
    ("use BorrowWithinCohort; only preempt from CQ if no workloads below threshold and already above nominal",
     [wl("a_standard_1", 1, "a_standard", "default:cpu=10"), wl("a_standard_2", 1, "a_standard", "default:cpu=1"),
      wl("b_standard_1", 1, "b_standard", "default:cpu=1"), wl("b_standard_2", 2, "b_standard", "default:cpu=1")],
     "b_standard", 3, "default:cpu=1", {("default", "cpu")}, {"b_standard_1": "InClusterQueue"}),
    ("use BorrowWithinCohort; preempt from CQ and from other CQs with workloads below threshold",
     [wl("b_standard_high", 2, "b_standard", "default:cpu=10"), wl("b_standard_mid", 1, "b_standard", "default:cpu=1"),
      wl("a_best_effort_low", -1, "a_best_effort", "default:cpu=1"), wl("a_best_effort_lower", -2, "a_best_effort", "default:cpu=1")],
     "b_standard", 2, "default:cpu=2", {("default", "cpu")},
     {"a_best_effort_lower": "InCohortReclaimWhileBorrowing", "b_standard_mid": "InClusterQueue"}),
    ("reclaim quota from lender",
     [wl("lend1-low", -1, "lend1", "default:cpu=3"), wl("lend2-mid", 0, "lend2", "default:cpu=3"),
      wl("lend2-high", 1, "lend2", "default:cpu=4")],
     "lend1", 1, "default:cpu=3", {("default", "cpu")}, {"lend2-mid": "InCohortReclamation"}),
    ("preempt from all ClusterQueues in cohort-lend",
     [wl("lend1-low", -1, "lend1", "default:cpu=3"), wl("lend1-mid", 0, "lend1", "default:cpu=2"),
      wl("lend2-low", -1, "lend2", "default:cpu=3"), wl("lend2-mid", 0, "lend2", "default:cpu=4")],
     "lend1", 0, "default:cpu=4", {("default", "cpu")}, {"lend1-low": "InClusterQueue", "lend2-low": "InCohortReclamation"}),
    ("cannot preempt from other ClusterQueues if exceeds requestable quota including lending limit",
     [wl("lend2-low", -1, "lend2", "default:cpu=10")], "lend1", 0, "default:cpu=9", {("default", "cpu")}, {}),
    ("preemptions from cq when target queue is exhausted for the single requested resource",
     [wl("a1", -2, "a", "default:cpu=1"), wl("a2", -2, "a", "default:cpu=1"), wl("a3", -1, "a", "default:cpu=1"),
      wl("b1", 0, "b", "default:cpu=1"), wl("b2", 0, "b", "default:cpu=1"), wl("b3", 0, "b", "default:cpu=1")],
     "a", 0, "default:cpu=2", {("default", "cpu")}, {"a1": "InClusterQueue", "a2": "InClusterQueue"}),
    ("preemptions from cq when target queue is exhausted for two requested resources",
     [wl(n, p, n[0], "default:cpu=1,memory=1") for n, p in (("a1", -2), ("a2", -2), ("a3", -1), ("b1", 0), ("b2", 0), ("b3", 0))],
     "a", 0, "default:cpu=2,memory=2", {("default", "cpu"), ("default", "memory")},
     {"a1": "InClusterQueue", "a2": "InClusterQueue"}),
    ("preemptions from cq when target queue is exhausted for one requested resource, but not the other",
     [wl(n, p, n[0], "default:cpu=1") for n, p in (("a1", -2), ("a2", -2), ("a3", -1), ("b1", 0), ("b2", 0), ("b3", 0))],
     "a", 0, "default:cpu=2,memory=2", {("default", "cpu"), ("default", "memory")},
     {"a1": "InClusterQueue", "a2": "InClusterQueue"}),
    ("allow preemption from other cluster queues if target cq is not exhausted for the requested resource",
     [wl("a1", -1, "a", "default:cpu=1")] + [wl(f"b{i}", 0, "b", "default:cpu=1") for i in range(1, 5)]
     + [wl("b5", -1, "b", "default:cpu=1")],
     "a", 0, "default:cpu=2", {("default", "cpu")}, {"a1": "InClusterQueue", "b5": "InCohortReclamation"}),
]


def _usage(spec: str) -> dict:
    total: dict = {}
    for part in spec.split("|"):
        for fr, v in use(part).items():
            total[fr] = total.get(fr, 0) + v
    return total


@pytest.mark.parametrize("name, admitted, target, priority, usage, frs, evicted", CASES, ids=[c[0] for c in CASES])
def test_preemption_targets_as_kueue(name, admitted, target, priority, usage, frs, evicted):
    """preemption_test.go TestPreemption: the same victims, with the same reason, as Kueue's GetTargets."""
    quotas = Quotas(QUEUES, {}, admitted)
    incoming = Running("in", target, {}, priority, created_at=-15.0)
    targets = preemption.get_targets(quotas, QUEUES[target], incoming, _usage(usage), frs)
    assert {t.workload.name: t.reason for t in targets} == evicted
    assert quotas.removed == []  # the snapshot is restored


# flavorassigner_test.go TestIsPreferred: (a, b, preference, want).
IS_PREFERRED = [
    ("feature gate disabled prioritises preemption", (FIT, 0), (PREEMPT, 0), None, True),
    ("explicit BorrowingOverPreemption prioritises borrowing distance", (PREEMPT, 1), (FIT, 2), "BorrowingOverPreemption", False),
    ("explicit PreemptionOverBorrowing prioritises lower preemption", (PREEMPT, 1), (FIT, 2), "PreemptionOverBorrowing", True),
    ("explicit PreemptionOverBorrowing breaks borrowing ties with preemption", (PREEMPT, 1), (FIT, 1), "PreemptionOverBorrowing", False),
    ("explicit PreemptionOverBorrowing rejects no-candidate flavor before borrowing comparison",
     (NO_CANDIDATES, 1), (FIT, 2), "PreemptionOverBorrowing", False),
    ("explicit PreemptionOverBorrowing prefers fit over shallower-borrowing no-candidate flavor",
     (FIT, 2), (NO_CANDIDATES, 1), "PreemptionOverBorrowing", True),
    ("no-candidate flavor remains preferable to no-fit flavor", (NO_CANDIDATES, 1), (NO_FIT, 0), None, True),
    ("no-fit flavor remains worse than no-candidate flavor", (NO_FIT, 0), (NO_CANDIDATES, 1), None, False),
    ("no-candidate flavors retain borrowing preference", (NO_CANDIDATES, 1), (NO_CANDIDATES, 2), "PreemptionOverBorrowing", True),
    ("no-candidate flavors retain borrowing preference in reverse", (NO_CANDIDATES, 2), (NO_CANDIDATES, 1),
     "PreemptionOverBorrowing", False),
]


@pytest.mark.parametrize("name, a, b, preference, want", IS_PREFERRED, ids=[c[0] for c in IS_PREFERRED])
def test_is_preferred_as_kueue(name, a, b, preference, want):
    assert is_preferred(a, b, preference) is want


def test_reclaim_ranks_above_priority_preemption():
    """Reclaim (every victim in another queue) ranks between preempt and fit (flavorassigner.go preemptionMode)."""
    assert is_preferred((RECLAIM, 0), (PREEMPT, 0), None) and not is_preferred((PREEMPT, 0), (RECLAIM, 0), None)
    assert is_preferred((FIT, 0), (RECLAIM, 0), None)


RFS = {n: {"metadata": {"name": n}, "spec": {}} for n in ("uno", "due", "tre")}
UNO, DUE, TRE = (("uno", "gpu"), ("due", "gpu"), ("tre", "gpu"))
# TestReclaimBeforePriorityPreemption: (name, test queue usage, other queue usage, fungibility, oracle answers,
# extra resource, want mode, want flavor).
RECLAIM_CASES = [
    ("Select first flavor which fits", {UNO: 1}, {DUE: 1}, None, {}, None, FIT, "tre"),
    ("Select first flavor where gpu reclamation is possible", {UNO: 1}, {DUE: 1, TRE: 1}, None,
     {UNO: (PREEMPT, 0), DUE: (RECLAIM, 0)}, None, PREEMPT, "due"),
    ("Select first flavor when flavor fungibility is disabled", {UNO: 1}, {DUE: 1, TRE: 1},
     {"whenCanPreempt": "MayStopSearch"}, {}, None, PREEMPT, "uno"),
    ("Select first flavor where priority based preemption is possible", {UNO: 1, DUE: 1, TRE: 1}, {}, None, {},
     None, PREEMPT, "uno"),
    ("Select second flavor where gpu reclamation is possible, as compute Fits",
     {UNO: 1, ("uno", "compute"): 1, ("due", "compute"): 1}, {DUE: 1, TRE: 1}, None,
     {UNO: (PREEMPT, 0), DUE: (RECLAIM, 0), TRE: (RECLAIM, 0)}, "compute", PREEMPT, "tre"),
]


@pytest.mark.parametrize("name, mine, other, fungibility, answers, extra, mode, flavor", RECLAIM_CASES,
                         ids=[c[0] for c in RECLAIM_CASES])
def test_reclaim_before_priority_preemption_as_kueue(name, mine, other, fungibility, answers, extra, mode, flavor):
    quotas_of = {f: {"compute": "10", "gpu": "10"} for f in ("uno", "due", "tre")}
    test = cq("test-clusterqueue", [quotas_of], "cohort", LOWER, LOWER,
              flavorFungibility=fungibility or {"whenCanPreempt": "TryNextFlavor"})
    other_q = cq("other-clusterqueue", [{f: {"compute": "0", "gpu": "0"} for f in ("uno", "due", "tre")}], "cohort")
    running = [Running("mine", test.name, {fr: v for fr, v in mine.items()}, 0),
               Running("other", other_q.name, {fr: v for fr, v in other.items()}, 0)]
    quotas = Quotas({test.name: test, other_q.name: other_q}, {}, running)
    requests = {"gpu": 10, **({extra: 10} if extra else {})}
    a = assign(quotas, test, RFS, [("main", 1, {}, requests)], oracle=lambda _q, _queue, fr, _v: answers.get(fr, (PREEMPT, 0)))
    assert a.mode == mode
    assert set(a.pod_sets[0].flavors.values()) == {flavor} and set(a.pod_sets[0].flavors) == set(requests)
