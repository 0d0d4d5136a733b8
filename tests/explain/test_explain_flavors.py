"""explain's flavor assignment against kubernetes-sigs/kueue v0.19.2
`pkg/scheduler/flavorassigner/flavorassigner_test.go` TestAssignFlavors: the preemption, borrowing,
lending and flavorFungibility cases, restated with the same queues, usage, requests and the same fixed
preemption-oracle answers (upstream's `testOracle`: Preempt at borrowing level 0 unless the case sets
`simulationResult`), checking the representative mode, the flavor of each pod set, the borrowing level,
the flavors tried with their mode, and the messages. (Cases on TAS, LeaderWorkerSet groups, reclaimable
pods, workload slices and fair sharing are features explain does not model.)"""

from __future__ import annotations

import pytest

from components.explain.quota import FIT, NO_CANDIDATES, NO_FIT, PREEMPT, Quotas, Running, assign
from test_explain_kueue import RFS, requests
from test_explain_preemption import BWC, LOWER, cq

TAINT_TOLERATION = [{"key": "instance", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}]
CPU1 = {"cpu": ("one", "cpu")}
MAY_STOP = {"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "MayStopSearch"}
TRY_NEXT = {"whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "TryNextFlavor"}
BORROW_WHILE_PREEMPT = {"reclaim": LOWER, "borrow_within": {"policy": "LowerPriority"}}


def one(flavor: str, cpu: int) -> dict:
    return {(flavor, "cpu"): cpu * 1000}


# (case, pod sets [(name, count, pod spec, per-pod requests)], test queue, its usage, secondary queue or None,
#  its usage, oracle answers, want mode, want {pod set: flavor}, want borrowing level,
#  want tries [(flavor, mode)] of the first pod set, want reasons of the first pod set or None)
CASES = [
    ("not enough space to borrow", [("main", 1, {}, requests(cpu="2"))],
     cq("test-clusterqueue", [{"one": {"cpu": "1"}}]), {},
     cq("test-secondary-clusterqueue", [{"one": {"cpu": ("10", None, "0")}}], "test-cohort"), one("one", 9),
     {}, NO_FIT, {}, 0, [("one", NO_FIT)],
     ["insufficient quota for cpu in flavor one, previously considered podsets requests (0) + current podset request (2) > "
      "maximum capacity (1)"]),
    ("past max, but can preempt in ClusterQueue", [("main", 1, {}, requests(cpu="2"))],
     cq("test-clusterqueue", [{"one": {"cpu": ("2", "8")}}], "test-cohort"), one("one", 9),
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "98"}}], "test-cohort"), one("one", 9),
     {("one", "cpu"): (PREEMPT, 1)}, PREEMPT, {"main": "one"}, 1, [("one", PREEMPT)],
     ["insufficient unused quota for cpu in flavor one, 1 more needed"]),
    ("past min, but can preempt in ClusterQueue", [("main", 1, {}, requests(cpu="2"))],
     cq("test-clusterqueue", [{"one": {"cpu": "2"}}]), one("one", 1), None, {},
     {}, PREEMPT, {"main": "one"}, 0, [("one", PREEMPT)], ["insufficient unused quota for cpu in flavor one, 1 more needed"]),
    ("past min, but can preempt in cohort and ClusterQueue", [("main", 1, {}, requests(cpu="2"))],
     cq("test-clusterqueue", [{"one": {"cpu": "3"}}], "test-cohort"), one("one", 2),
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "7"}}], "test-cohort"), one("one", 8),
     {("one", "cpu"): (PREEMPT, 1)}, PREEMPT, {"main": "one"}, 1, [("one", PREEMPT)],
     ["insufficient unused quota for cpu in flavor one, 2 more needed"]),
    ("can only preempt flavors that match affinity", [("main", 1, {"nodeSelector": {"type": "two"}}, requests(cpu="2"))],
     cq("test-clusterqueue", [{"one": {"cpu": "4"}, "two": {"cpu": "4"}}]), {**one("one", 3), **one("two", 3)}, None, {},
     {}, PREEMPT, {"main": "two"}, 0, [("one", NO_FIT), ("two", PREEMPT)],
     ["flavor one doesn't match node affinity", "insufficient unused quota for cpu in flavor two, 1 more needed"]),
    ("each podset requires preemption on a different flavor",
     [("launcher", 1, {}, requests(cpu="2")), ("workers", 10, {"tolerations": TAINT_TOLERATION}, requests(cpu="1"))],
     cq("test-clusterqueue", [{"one": {"cpu": "4"}, "tainted": {"cpu": "10"}}]), {**one("one", 3), **one("tainted", 3)},
     None, {}, {}, PREEMPT, {"launcher": "one", "workers": "tainted"}, 0, [("one", PREEMPT), ("tainted", NO_FIT)],
     ["insufficient unused quota for cpu in flavor one, 1 more needed",
      "untolerated taint {instance spot NoSchedule <nil>} in flavor tainted"]),
    ("preempt before try next flavor", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": "10"}, "two": {"pods": "10", "cpu": "10"}}],
        flavorFungibility=MAY_STOP), one("one", 2), None, {},
     {}, PREEMPT, {"main": "one"}, 0, [("one", PREEMPT)], ["insufficient unused quota for cpu in flavor one, 1 more needed"]),
    ("preempt try next flavor", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": "10"}, "two": {"pods": "10", "cpu": "10"}}]), one("one", 2),
     None, {}, {}, FIT, {"main": "two"}, 0, [("one", PREEMPT), ("two", FIT)], None),
    ("borrow try next flavor, found the first flavor", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": ("10", "1")}, "two": {"pods": "10", "cpu": "1"}}],
        "test-cohort", flavorFungibility=TRY_NEXT), one("one", 2),
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "1"}}], "test-cohort"), {},
     {}, FIT, {"main": "one"}, 1, [("one", FIT), ("two", NO_FIT)],
     ["insufficient quota for cpu in flavor two, previously considered podsets requests (0) + current podset request (9) > "
      "maximum capacity (1)"]),
    ("borrow try next flavor, found the second flavor", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": ("10", "1")}, "two": {"pods": "10", "cpu": "10"}}],
        "test-cohort", flavorFungibility=TRY_NEXT), one("one", 2),
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "1"}}], "test-cohort"), {},
     {}, FIT, {"main": "two"}, 0, [("one", FIT), ("two", FIT)], None),
    ("borrow before try next flavor", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": ("10", "1")}, "two": {"pods": "10", "cpu": "10"}}],
        "test-cohort"), one("one", 2),
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "1"}}], "test-cohort"), {},
     {}, FIT, {"main": "one"}, 1, [("one", FIT)], None),
    ("when borrowing while preemption is needed for flavor one; WhenCanBorrow=MayStopSearch",
     [("main", 1, {}, requests(cpu="12"))],
     cq("test-clusterqueue", [{"one": {"cpu": ("0", "12")}, "two": {"cpu": "12"}}], "test-cohort",
        flavorFungibility=MAY_STOP, **BORROW_WHILE_PREEMPT), {},
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "12"}}], "test-cohort"), one("one", 10),
     {("one", "cpu"): (PREEMPT, 1)}, PREEMPT, {"main": "one"}, 1, [("one", PREEMPT)],
     ["insufficient unused quota for cpu in flavor one, 10 more needed"]),
    ("when borrowing while preemption is needed for flavor one, no borrowingLimit; WhenCanBorrow=MayStopSearch",
     [("main", 1, {}, requests(cpu="12"))],
     cq("test-clusterqueue", [{"one": {"cpu": "0"}, "two": {"cpu": "12"}}], "test-cohort",
        flavorFungibility=MAY_STOP, **BORROW_WHILE_PREEMPT), {},
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "12"}}], "test-cohort"), one("one", 10),
     {("one", "cpu"): (PREEMPT, 1)}, PREEMPT, {"main": "one"}, 1, [("one", PREEMPT)],
     ["insufficient unused quota for cpu in flavor one, 10 more needed"]),
    ("when borrowing while preemption is needed for flavor one; WhenCanBorrow=TryNextFlavor",
     [("main", 1, {}, requests(cpu="12"))],
     cq("test-clusterqueue", [{"one": {"cpu": ("0", "12")}, "two": {"cpu": "12"}}], "test-cohort",
        flavorFungibility={"whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "MayStopSearch"}, **BORROW_WHILE_PREEMPT), {},
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "12"}}], "test-cohort"), {},
     {}, FIT, {"main": "two"}, 0, [("one", FIT), ("two", FIT)], None),
    ("when borrowing while preemption is needed, but borrowingLimit exceeds the quota available in the cohort",
     [("main", 1, {}, requests(cpu="12"))],
     cq("test-clusterqueue", [{"one": {"cpu": ("0", "12")}}], "test-cohort", **BORROW_WHILE_PREEMPT), {},
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "11"}}], "test-cohort"), one("one", 10),
     {}, NO_FIT, {}, 0, [("one", NO_FIT)],
     ["insufficient quota for cpu in flavor one, previously considered podsets requests (0) + current podset request (12) > "
      "maximum capacity (11)"]),
    ("lend try next flavor, found the second flavor", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": ("10", None, "1")}, "two": {"pods": "10", "cpu": ("10", None, "0")}}],
        "test-cohort", flavorFungibility=TRY_NEXT), one("one", 2),
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "1"}}], "test-cohort"), {},
     {}, FIT, {"main": "two"}, 0, [("one", FIT), ("two", FIT)], None),
    ("lend try next flavor, found the first flavor", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": ("10", None, "1")}, "two": {"pods": "10", "cpu": ("1", None, "0")}}],
        "test-cohort", flavorFungibility=TRY_NEXT), one("one", 2),
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "1"}}], "test-cohort"), {},
     {}, FIT, {"main": "one"}, 1, [("one", FIT), ("two", NO_FIT)],
     ["insufficient quota for cpu in flavor two, previously considered podsets requests (0) + current podset request (9) > "
      "maximum capacity (1)"]),
    ("cannot preempt in cohort (oracle returns None) for the first flavor, tries the second flavor (which fits)",
     [("main", 1, {}, requests(cpu="2"))],
     cq("test-clusterqueue", [{"one": {"cpu": ("0", "2")}, "two": {"cpu": ("0", "2")}}], "test-cohort",
        flavorFungibility=MAY_STOP, **BORROW_WHILE_PREEMPT), {},
     cq("test-secondary-clusterqueue", [{"one": {"cpu": "2"}, "two": {"cpu": "2"}}], "test-cohort"), one("one", 2),
     {("one", "cpu"): (NO_CANDIDATES, 0)}, FIT, {"main": "two"}, 1, [("one", NO_CANDIDATES), ("two", FIT)],
     ["insufficient unused quota for cpu in flavor one, 2 more needed"]),
    ("quota exhausted, but can preempt in cohort and ClusterQueue", [("main", 1, {}, requests(cpu="9"))],
     cq("test-clusterqueue", [{"one": {"pods": "10", "cpu": ("10", None, "0")}}]), one("one", 2),
     cq("test-secondary-clusterqueue", [{"one": {"pods": "0", "cpu": "0"}}], "test-cohort"), {},
     {("one", "cpu"): (PREEMPT, 1)}, PREEMPT, {"main": "one"}, 1, [("one", PREEMPT)],
     ["insufficient unused quota for cpu in flavor one, 1 more needed"]),
]


@pytest.mark.parametrize("name, pod_sets, test, usage, other, other_usage, answers, mode, flavors, borrow, tries, reasons",
                         CASES, ids=[c[0] for c in CASES])
def test_assign_flavors_as_kueue(name, pod_sets, test, usage, other, other_usage, answers, mode, flavors, borrow, tries,
                                 reasons):
    queues = {test.name: test, **({other.name: other} if other else {})}
    running = [Running("test-usage", test.name, usage, 0)] + ([Running("other-usage", other.name, other_usage, 0)]
                                                              if other else [])
    a = assign(Quotas(queues, {}, running), test, RFS, pod_sets,
               oracle=lambda _q, _queue, fr, _v: answers.get(fr, (PREEMPT, 0)))
    assert a.mode == mode
    assert {ps.name: ps.flavor for ps in a.pod_sets if ps.flavor} == flavors
    assert max((ps.borrow for ps in a.pod_sets), default=0) == borrow
    first = a.pod_sets[0]
    assert [(t.flavor, t.mode) for t in first.tries] == tries
    if reasons is not None:
        assert [r for t in first.tries for r in t.reasons] == reasons


# pkg/scheduler/scheduler_test.go TestSchedule: whole scheduling decisions with Kueue's real preemption
# (no fixed oracle here). (case, queues, admitted [(name, queue, flavor, cpu or gpu, priority)], incoming
# queue, incoming priority, request, want flavor, want victims). Resource "gpu" is named as upstream's.
def _wl(name, queue, flavor, amount, priority, resource="cpu"):
    return Running(name, queue, {(flavor, resource): amount * (1000 if resource == "cpu" else 1)}, priority)


ALPHA_BETA = [cq("other-alpha", [{"on-demand": {"gpu": "10"}, "spot": {"gpu": "10"}}], "other", LOWER, LOWER),
              cq("other-beta", [{"on-demand": {"gpu": "0"}, "spot": {"gpu": "0"}}], "other", LOWER, LOWER)]
ALPHA_BETA_2 = [ALPHA_BETA[0], cq("other-beta", [{"on-demand": {"gpu": "0"}, "spot": {"gpu": "0"}}], "other")]
POB = lambda preference: [  # noqa: E731
    cq("pob-cq", [{"on-demand": {"cpu": ("5", "0")}, "spot": {"cpu": ("0", "5")}}], "pob-cohort", LOWER,
       flavorFungibility={**TRY_NEXT, "preference": preference}),
    cq("pob-lender", [{"on-demand": {"cpu": "0"}, "spot": {"cpu": "5"}}], "pob-cohort")]
SCHEDULE = [
    ("prefer reclamation over cq priority based preemption", ALPHA_BETA,
     [_wl("a1", "other-alpha", "on-demand", 5, 50, "gpu"), _wl("b1", "other-beta", "spot", 5, 50, "gpu")],
     "other-alpha", 100, {"gpu": 6}, "spot", ["b1"]),
    ("prefer first preemption flavor when second flavor requires both reclaim and cq priority preemption", ALPHA_BETA_2,
     [_wl("a1", "other-alpha", "on-demand", 5, 50, "gpu"), _wl("a2", "other-alpha", "spot", 5, 50, "gpu"),
      _wl("b1", "other-beta", "spot", 5, 50, "gpu")],
     "other-alpha", 100, {"gpu": 6}, "on-demand", ["a1"]),
    ("prefer first preemption flavor when second flavor also requires cq preemption", ALPHA_BETA_2,
     [_wl("a1", "other-alpha", "on-demand", 6, 50, "gpu"), _wl("a2", "other-alpha", "spot", 5, 50, "gpu"),
      _wl("b1", "other-beta", "spot", 5, 9001, "gpu")],
     "other-alpha", 100, {"gpu": 5}, "on-demand", ["a1"]),
    ("use second flavor when the first has no preemption candidates; WhenCanPreempt: MayStopSearch",
     [cq("other-alpha", [{"on-demand": {"cpu": ("50", "50")}, "spot": {"cpu": ("100", "0")}}], within=LOWER,
         flavorFungibility={"whenCanPreempt": "MayStopSearch"})],
     [_wl("admitted", "other-alpha", "on-demand", 50, 0)], "other-alpha", 0, {"cpu": 20_000}, "spot", []),
    ("don't assign flavor if there are no candidates for preemption",
     [cq("cq1", [{"on-demand": {"cpu": ("0", "1")}, "spot": {"cpu": ("0", "1")}}], "cohort", LOWER, "Any",
         {"policy": "LowerPriority"}, flavorFungibility=MAY_STOP),
      cq("cq2", [{"on-demand": {"cpu": "1"}, "spot": {"cpu": "1"}}], "cohort")],
     [_wl("admitted", "cq2", "on-demand", 1, 0)], "cq1", 100, {"cpu": 1000}, "spot", []),
    ("admit to second flavor when first needs preemption; WhenCanPreempt: TryNextFlavor",
     [cq("preempt-attempts-cq", [{"on-demand": {"cpu": "1"}, "spot": {"cpu": "1"}}], within=LOWER,
         flavorFungibility={"whenCanPreempt": "TryNextFlavor"})],
     [_wl("blocker", "preempt-attempts-cq", "on-demand", 1, 50)], "preempt-attempts-cq", 100, {"cpu": 1000}, "spot", []),
    ("A workload is only eligible to do preemptions if it fits fully within nominal quota",
     [cq("other-alpha", [{"on-demand": {"cpu": "2"}}], "other", LOWER, "Any"), cq("other-beta", [{"on-demand": {"cpu": "2"}}], "other")],
     [_wl("a1", "other-alpha", "on-demand", 1, -1), _wl("b1", "other-beta", "on-demand", 1, -1)],
     "other-alpha", 1, {"cpu": 3000}, None, []),
    ("PreemptionOverBorrowing preference: preempt in first flavor instead of borrowing in second", POB("PreemptionOverBorrowing"),
     [_wl("low-pob", "pob-cq", "on-demand", 5, -1)], "pob-cq", 0, {"cpu": 5000}, "on-demand", ["low-pob"]),
    ("BorrowingOverPreemption preference: borrow in second flavor instead of preempting in first", POB("BorrowingOverPreemption"),
     [_wl("low-pob", "pob-cq", "on-demand", 5, -1)], "pob-cq", 0, {"cpu": 5000}, "spot", []),
]


@pytest.mark.parametrize("name, queues, admitted, target, priority, wanted, flavor, victims", SCHEDULE,
                         ids=[c[0] for c in SCHEDULE])
def test_schedule_as_kueue(name, queues, admitted, target, priority, wanted, flavor, victims):
    by_name = {q.name: q for q in queues}
    rfs = {f: {"metadata": {"name": f}, "spec": {}} for f in ("on-demand", "spot")}
    a = assign(Quotas(by_name, {}, admitted), by_name[target], rfs, [("main", 1, {}, wanted)],
               Running("incoming", target, {}, priority))
    assert a.pod_sets[0].flavor == flavor
    assert sorted(t.workload.name for t in a.targets) == victims
