"""Kueue's quota arithmetic and flavor assignment for one workload, over rendered objects.

Encodes Kueue v0.19.2 (classical preemption, no fair sharing, no TAS, flat cohorts: a ClusterQueue's
`cohortName` and that Cohort object's own resourceGroups; a Cohort with a `parentName` is refused by
`quotas_of` as not modelled):
- `pkg/cache/scheduler/resource_node.go`: a queue's `localQuota` (nominal - lendingLimit, never lent),
  the cohort's SubtreeQuota (its own quota + what every member may lend) and Usage (what members use
  past their local quota); `available` (local + the cohort's unused quota, capped by the borrowingLimit
  over what the queue stores in the cohort), `potentialAvailable`, `QuantitiesFitInQuota`,
  `IsWithinNominalInResources`; `clusterqueue_snapshot.go` `BorrowingWith` (nominal < usage + request);
- `preemption/classical/hierarchical_preemption.go` `FindHeightOfLowestSubtreeThatFits` (the
  borrowing level: 0 within the queue, 1 from the cohort, and whether reclaim may help);
- `pkg/scheduler/flavorassigner/flavorassigner.go`: `assignFlavors` (pod sets in order, each seeing
  the quota the earlier ones took; one flavor per resource group; a pod set with no flavor stops the
  assignment), `findFlavorForPodSets` (flavors in list order, the per-resource worst mode, the stop
  rule `shouldTryNextFlavor`, the best by `isPreferred`), `checkFlavorForPodSets` (untolerated
  NoSchedule/NoExecute nodeTaints; node affinity on the flavor's own label keys, `flavorSelector`),
  `fitsResourceQuota` (NoFit over potentialAvailable, Fit within available, else the preemption
  oracle when nominal covers it, reclaim may help or borrowWithinCohort allows) and its messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from . import preemption
from .matching import selector_matches, untolerated_taint
from .quantity import parse, show

FR = tuple[str, str]  # (flavor, resource)
FIT, NO_FIT = "Fit", "NoFit"
PREEMPT, RECLAIM, NO_CANDIDATES = preemption.PREEMPT, preemption.RECLAIM, preemption.NO_CANDIDATES
# flavorassigner.go preemptionMode, worst to best: noFit < noPreemptionCandidates < preempt < reclaim < fit.
_RANK = {NO_FIT: 0, NO_CANDIDATES: 1, PREEMPT: 2, RECLAIM: 3, FIT: 4}
_WORST = (NO_FIT, 1 << 30)


@dataclass
class Running:
    """An admitted workload holding quota: its ClusterQueue, usage per (flavor, resource), priority,
    when its quota was reserved and when it was created (seconds; larger is later)."""

    name: str
    cluster_queue: str
    usage: dict[FR, int]
    priority: int
    admitted_at: float = 0.0
    created_at: float = 0.0

    @property
    def flavors(self) -> list[str]:
        return list(dict.fromkeys(f for f, _ in self.usage))

    def gpus(self) -> int:
        return sum(v for (_, r), v in self.usage.items() if r == "nvidia.com/gpu")


@dataclass
class Queue:
    name: str
    cohort: Optional[str]
    groups: list[tuple[list[str], list[str]]]  # (covered resources, flavors in order)
    nominal: dict[FR, int]
    borrowing: dict[FR, Optional[int]]  # None: unlimited
    lending: dict[FR, Optional[int]]  # None: lends all of it
    preemption: dict
    fungibility: dict
    spec: dict = field(repr=False)

    @classmethod
    def from_object(cls, obj: dict) -> "Queue":
        spec = obj.get("spec") or {}
        groups, nominal, borrowing, lending = [], {}, {}, {}
        for rg in spec.get("resourceGroups") or []:
            groups.append((list(rg.get("coveredResources") or []), [f["name"] for f in rg.get("flavors") or []]))
            for f in rg.get("flavors") or []:
                for r in f.get("resources") or []:
                    key = (f["name"], r["name"])
                    nominal[key] = parse(r["name"], r.get("nominalQuota", 0))
                    for limits, name in ((borrowing, "borrowingLimit"), (lending, "lendingLimit")):
                        limits[key] = None if r.get(name) is None else parse(r["name"], r[name])
        preemption_ = {"withinClusterQueue": "Never", "reclaimWithinCohort": "Never", **(spec.get("preemption") or {})}
        fungibility = {"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "TryNextFlavor", **(spec.get("flavorFungibility") or {})}
        return cls(obj["metadata"]["name"], spec.get("cohortName"), groups, nominal, borrowing, lending,
                   preemption_, fungibility, spec)

    def group_of(self, resource: str) -> Optional[int]:
        return next((i for i, (covered, _) in enumerate(self.groups) if resource in covered), None)

    @property
    def borrow_within_cohort(self) -> dict:
        return self.preemption.get("borrowWithinCohort") or {}


def local_quota(q: Queue, fr: FR) -> int:
    """resourceNode.localQuota: the part of a queue's nominal quota its lendingLimit keeps from the
    cohort (0 without a lendingLimit). The one place lending enters the arithmetic."""
    limit = q.lending.get(fr)
    return 0 if limit is None else max(0, q.nominal.get(fr, 0) - limit)


@dataclass
class Quotas:
    """The scheduler's snapshot: every ClusterQueue, each cohort's own quota, the admitted workloads.
    `remove`/`add` take a workload's usage out and back, as Snapshot.RemoveWorkload/AddWorkload."""

    queues: dict[str, Queue]
    cohort_quota: dict[str, dict[FR, int]]
    running: list[Running]
    removed: list[Running] = field(default_factory=list)

    def remove(self, w: Running) -> None:
        self.removed.append(w)

    def add(self, w: Running) -> None:
        self.removed = [r for r in self.removed if r is not w]

    def admitted(self) -> list[Running]:
        return [w for w in self.running if not any(w is r for r in self.removed)]

    def usage(self, cq: str, fr: FR) -> int:
        return sum(w.usage.get(fr, 0) for w in self.admitted() if w.cluster_queue == cq)

    def members(self, cohort: str) -> list[Queue]:
        return [q for q in self.queues.values() if q.cohort == cohort]

    def cohort_subtree(self, cohort: str, fr: FR) -> int:
        own = self.cohort_quota.get(cohort, {}).get(fr, 0)
        return own + sum(m.nominal.get(fr, 0) - local_quota(m, fr) for m in self.members(cohort))

    def cohort_usage(self, cohort: str, fr: FR) -> int:
        return sum(max(0, self.usage(m.name, fr) - local_quota(m, fr)) for m in self.members(cohort))

    def local_available(self, q: Queue, fr: FR) -> int:
        return max(0, local_quota(q, fr) - self.usage(q.name, fr))

    def available(self, q: Queue, fr: FR) -> int:
        nominal, used = q.nominal.get(fr, 0), self.usage(q.name, fr)
        if not q.cohort:
            return max(0, nominal - used)
        parent = self.cohort_subtree(q.cohort, fr) - self.cohort_usage(q.cohort, fr)
        limit = q.borrowing.get(fr)
        if limit is not None:
            lq = local_quota(q, fr)
            parent = min(nominal - lq - max(0, used - lq) + limit, parent)
        return max(0, self.local_available(q, fr) + parent)

    def potential(self, q: Queue, fr: FR) -> int:
        if not q.cohort:
            return q.nominal.get(fr, 0)
        whole = local_quota(q, fr) + self.cohort_subtree(q.cohort, fr)
        limit = q.borrowing.get(fr)
        return whole if limit is None else min(whole, q.nominal.get(fr, 0) + limit)

    def borrowing_with(self, q: Queue, fr: FR, amount: int) -> bool:
        return q.nominal.get(fr, 0) < self.usage(q.name, fr) + amount

    def borrow_level(self, q: Queue, fr: FR, amount: int) -> tuple[int, bool]:
        """FindHeightOfLowestSubtreeThatFits on a flat cohort: (borrowing level, may reclaim in the cohort)."""
        if not q.cohort or not self.borrowing_with(q, fr, amount):
            return 0, bool(q.cohort)
        return 1, False

    def within_nominal(self, q: Queue, frs: set[FR]) -> bool:
        return all(q.nominal.get(fr, 0) >= self.usage(q.name, fr) for fr in frs)

    def fits_in_nominal(self, q: Queue, requests: dict[FR, int]) -> bool:
        """QuantitiesFitInQuota on the queue itself."""
        return all(q.nominal.get(fr, 0) >= self.usage(q.name, fr) + v for fr, v in requests.items())

    def lenders(self, q: Queue, fr: FR) -> list[str]:
        """Queues of the cohort whose unused lendable quota a borrower takes."""
        return [m.name for m in self.members(q.cohort or "")
                if m.name != q.name and m.nominal.get(fr, 0) - local_quota(m, fr) > self.usage(m.name, fr)]


@dataclass
class FlavorTry:
    flavor: str
    mode: str  # FIT / RECLAIM / PREEMPT / NO_CANDIDATES / NO_FIT
    borrow: int = 0  # borrowing level of the worst resource (what isPreferred compares)
    max_borrow: int = 0  # the highest of any resource (what the assignment records)
    reasons: list[str] = field(default_factory=list)
    need_preemption: set = field(default_factory=set)  # (flavor, resource) that need preemption

    @property
    def borrows(self) -> bool:
        return self.borrow > 0


@dataclass
class PodSetAssignment:
    name: str
    flavors: dict[str, str]  # resource -> flavor
    mode: str
    borrow: int
    tries: list[FlavorTry]
    need_preemption: set
    requests: dict[str, int]  # the pod set's total (count x per pod)

    @property
    def flavor(self) -> Optional[str]:
        return next(iter(dict.fromkeys(self.flavors.values())), None)

    @property
    def borrows(self) -> bool:
        return self.borrow > 0


@dataclass
class Assignment:
    """Per pod set; the workload's mode is the worst of its pod sets' (RepresentativeMode)."""

    pod_sets: list[PodSetAssignment]
    targets: list[preemption.Target] = field(default_factory=list)

    @property
    def mode(self) -> str:
        if not self.pod_sets:
            return NO_FIT
        worst = min((ps.mode for ps in self.pod_sets), key=lambda m: _RANK[m])
        return PREEMPT if worst in (RECLAIM, NO_CANDIDATES) else worst

    @property
    def borrows(self) -> bool:
        return any(ps.borrows for ps in self.pod_sets)

    @property
    def tries(self) -> list[FlavorTry]:
        return [t for ps in self.pod_sets for t in ps.tries]

    def usage(self) -> dict[FR, int]:
        """TotalRequestsFor: the quota the workload takes per (flavor, resource)."""
        total: dict[FR, int] = {}
        for ps in self.pod_sets:
            for r, f in ps.flavors.items():
                total[(f, r)] = total.get((f, r), 0) + ps.requests.get(r, 0)
        return total

    def need_preemption(self) -> set:
        return {fr for ps in self.pod_sets for fr in ps.need_preemption}


def is_preferred(a: tuple[str, int], b: tuple[str, int], preference: Optional[str]) -> bool:
    """isPreferred on (preemption mode, borrowing level): BorrowingOverPreemption (the default) ranks
    the mode first, PreemptionOverBorrowing the borrowing level; a flavor without candidates loses to
    any viable one either way."""
    if a[0] == NO_FIT:
        return False
    if b[0] == NO_FIT:
        return True
    if (a[0] == NO_CANDIDATES) != (b[0] == NO_CANDIDATES):
        return a[0] != NO_CANDIDATES
    ra, rb = _RANK[a[0]], _RANK[b[0]]
    if preference == "PreemptionOverBorrowing":
        return a[1] < b[1] if a[1] != b[1] else ra > rb
    return ra > rb if ra != rb else a[1] < b[1]


def should_try_next_flavor(mode: tuple[str, int], fungibility: dict) -> bool:
    if mode[0] in (NO_FIT, NO_CANDIDATES):
        return True
    if mode[0] in (PREEMPT, RECLAIM) and fungibility.get("whenCanPreempt") == "TryNextFlavor":
        return True
    return mode[1] > 0 and fungibility.get("whenCanBorrow") == "TryNextFlavor"


def check_flavor(flavor: dict, pod_spec: dict) -> Optional[str]:
    """checkFlavorForPodSets: why this flavor cannot take the pod set (None if it can)."""
    name = flavor["metadata"]["name"]
    spec = flavor.get("spec") or {}
    tolerations = list(pod_spec.get("tolerations") or []) + list(spec.get("tolerations") or [])
    taint = untolerated_taint(spec.get("nodeTaints") or [], tolerations, effects=("NoSchedule", "NoExecute"))
    if taint:
        return f"untolerated taint {_taint_text(taint)} in flavor {name}"
    labels = spec.get("nodeLabels") or {}
    if not selector_matches(pod_spec, labels, only_keys=set(labels)):
        return f"flavor {name} doesn't match node affinity"
    return None


def _taint_text(taint: dict) -> str:
    """How Kueue prints a corev1.Taint in this message (%s of the struct: {Key Value Effect TimeAdded})."""
    return f"{{{taint['key']} {taint.get('value', '')} {taint['effect']} <nil>}}"


Oracle = Callable[[Quotas, Queue, FR, int], tuple[str, int]]


def assign(quotas: Quotas, q: Queue, flavors: dict[str, dict], pod_sets: list[tuple[str, int, dict, dict[str, int]]],
           incoming: Optional[Running] = None, oracle: Optional[Oracle] = None) -> Assignment:
    """Flavor assignment of pod sets [(name, count, pod spec, per-pod requests)] in queue q, then the
    preemption targets (Preemptor.GetTargets) when it needs preemption. `incoming` carries the
    workload's priority and creation time; `oracle` replaces the preemption simulation (upstream's
    tests use a fixed one)."""
    incoming = incoming or Running("incoming", q.name, {}, 0)
    ask = oracle or (lambda qs, queue, fr, amount: preemption.simulate(qs, queue, incoming, fr, amount))
    assumed: dict[FR, int] = {}
    result = []
    for name, count, spec, per_pod in pod_sets:
        requests = {r: v * count for r, v in per_pod.items() if v}
        if q.group_of("pods") is not None:  # a queue that covers `pods` counts one per pod
            requests["pods"] = count
        psa = _assign_pod_set(quotas, q, flavors, name, spec, requests, assumed, ask)
        result.append(psa)
        if psa.mode == NO_FIT:
            break
        for r, f in psa.flavors.items():
            assumed[(f, r)] = assumed.get((f, r), 0) + requests[r]
    a = Assignment(result)
    if a.mode == PREEMPT:
        a.targets = preemption.get_targets(quotas, q, incoming, a.usage(), a.need_preemption())
    return a


def _assign_pod_set(quotas: Quotas, q: Queue, flavors: dict[str, dict], name: str, spec: dict,
                    requests: dict[str, int], assumed: dict[FR, int], ask: Oracle) -> PodSetAssignment:
    chosen: dict[str, str] = {}
    tries: list[FlavorTry] = []
    mode, need, borrow = (FIT, 0), set(), 0
    for r in sorted(requests):
        group = q.group_of(r)
        if group is None:
            tries.append(FlavorTry("", NO_FIT, reasons=[f"resource {r} unavailable in ClusterQueue"]))
            return PodSetAssignment(name, {}, NO_FIT, 0, tries, set(), requests)
        if r in chosen:
            continue
        covered, names = q.groups[group]
        wanted = {res: v for res, v in requests.items() if res in covered}
        best, best_mode = None, _WORST
        for flavor_name in names:
            flavor = flavors.get(flavor_name)
            reason = f"flavor {flavor_name} not found" if flavor is None else check_flavor(flavor, spec)
            if reason:
                tries.append(FlavorTry(flavor_name, NO_FIT, reasons=[reason]))
                continue
            t = _try_flavor(quotas, q, flavor_name, wanted, assumed, ask)
            tries.append(t)
            if not should_try_next_flavor((t.mode, t.borrow), q.fungibility):
                best, best_mode = t, (t.mode, t.borrow)
                break
            if is_preferred((t.mode, t.borrow), best_mode, q.fungibility.get("preference")):
                best, best_mode = t, (t.mode, t.borrow)
        if best is None:
            return PodSetAssignment(name, {}, NO_FIT, 0, tries, set(), requests)
        chosen.update({res: best.flavor for res in wanted})
        need |= best.need_preemption
        mode = min(mode, (best.mode, best.max_borrow), key=lambda m: _RANK[m[0]])
        borrow = max(borrow, best.max_borrow)
    return PodSetAssignment(name, chosen, mode[0], borrow, tries, need, requests)


def _try_flavor(quotas: Quotas, q: Queue, flavor: str, own: dict[str, int], assumed: dict[FR, int],
                ask: Oracle) -> FlavorTry:
    """One flavor for a resource group: every resource's fitsResourceQuota, the worst mode wins."""
    t = FlavorTry(flavor, FIT)
    mode = (FIT, 0)
    for r, request in sorted(own.items()):
        fr = (flavor, r)
        got, borrow = _fits(quotas, q, fr, assumed.get(fr, 0), request, t.reasons, ask)
        if got in (PREEMPT, RECLAIM, NO_CANDIDATES):
            t.need_preemption.add(fr)
        if is_preferred(mode, (got, borrow), q.fungibility.get("preference")):
            mode = (got, borrow)
        t.max_borrow = max(t.max_borrow, borrow)
    t.mode, t.borrow = mode
    if t.mode == NO_FIT:
        t.need_preemption = set()
    return t


def _fits(quotas: Quotas, q: Queue, fr: FR, before: int, request: int, reasons: list[str],
          ask: Oracle) -> tuple[str, int]:
    """fitsResourceQuota: the mode and borrowing level of one (flavor, resource)."""
    val = before + request
    cap = quotas.potential(q, fr)
    r, flavor = fr[1], fr[0]
    if val > cap:
        reasons.append(f"insufficient quota for {r} in flavor {flavor}, previously considered podsets requests "
                       f"({show(r, before)}) + current podset request ({show(r, request)}) > maximum capacity ({show(r, cap)})")
        return NO_FIT, 0
    borrow, may_reclaim = quotas.borrow_level(q, fr, val)
    available = quotas.available(q, fr)
    if val <= available:
        return FIT, borrow
    reasons.append(f"insufficient unused quota for {r} in flavor {flavor}, {show(r, val - available)} more needed")
    while_borrowing = q.borrow_within_cohort.get("policy", "Never") != "Never"
    if q.nominal.get(fr, 0) >= val or may_reclaim or while_borrowing:
        return ask(quotas, q, fr, val)
    return NO_FIT, borrow


__all__ = ["Assignment", "FlavorTry", "PodSetAssignment", "Queue", "Quotas", "Running", "assign", "check_flavor",
           "is_preferred", "local_quota", "FIT", "PREEMPT", "RECLAIM", "NO_CANDIDATES", "NO_FIT"]
