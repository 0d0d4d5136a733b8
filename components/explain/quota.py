"""Kueue's flavor assignment and quota arithmetic for one ClusterQueue, over rendered objects.

Encodes Kueue v0.19.2 (classic preemption, no fair sharing, no TAS, no lending limits):
- `pkg/scheduler/flavorassigner/flavorassigner.go`: `findFlavorForPodSets` (flavors in list order,
  the fungibility stop rule `shouldTryNextFlavor`, the best mode by `isPreferred` with
  `preference`), `checkFlavorForPodSets` (untolerated `NoSchedule`/`NoExecute` nodeTaints against the
  pod's tolerations plus the flavor's; required node affinity/nodeSelector matched against the
  flavor's nodeLabels, only for keys *this* flavor defines - `flavorSelector`), `fitsResourceQuota`
  (NoFit over `PotentialAvailable`, Fit within `Available`, else ask the preemption oracle) and the
  messages "untolerated taint", "doesn't match node affinity", "insufficient quota ...",
  "insufficient unused quota ...", "resource X unavailable in ClusterQueue";
- `pkg/cache/scheduler/resource_node.go` `available` / `potentialAvailable` (a ClusterQueue in a
  cohort sees the cohort's unused quota, capped by nominal - usage + borrowingLimit; potential =
  min(nominal + borrowingLimit, cohort quota)) and `classical.FindHeightOfLowestSubtreeThatFits`
  (borrowing = usage + request > nominal);
- `pkg/scheduler/preemption/classical/hierarchical_preemption.go` and `candidate_generator.go`:
  candidates in the same queue under `withinClusterQueue`, in other queues of the cohort under
  `reclaimWithinCohort` only while that queue is above its nominal quota, `borrowWithinCohort` to
  preempt while borrowing; `preemption/common/preemption_policy.go` `SatisfiesPreemptionPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .matching import selector_matches, untolerated_taint
from .quantity import parse, show

FIT, PREEMPT, NO_CANDIDATES, NO_FIT = "Fit", "Preempt", "NoCandidates", "NoFit"
_RANK = {NO_FIT: 0, NO_CANDIDATES: 1, PREEMPT: 2, FIT: 3}


@dataclass
class Running:
    """An admitted workload occupying quota (from --used): its queue, flavor, usage and priority."""

    name: str
    cluster_queue: str
    flavor: str
    usage: dict[str, int]
    priority: int


@dataclass
class Queue:
    name: str
    cohort: Optional[str]
    groups: list[tuple[list[str], list[str]]]  # (covered resources, flavors in order)
    nominal: dict[tuple[str, str], int]
    borrowing: dict[tuple[str, str], Optional[int]]  # None: unlimited
    preemption: dict
    fungibility: dict
    spec: dict = field(repr=False)

    @classmethod
    def from_object(cls, obj: dict) -> "Queue":
        spec = obj.get("spec") or {}
        groups, nominal, borrowing = [], {}, {}
        for rg in spec.get("resourceGroups") or []:
            groups.append((list(rg.get("coveredResources") or []), [f["name"] for f in rg.get("flavors") or []]))
            for f in rg.get("flavors") or []:
                for r in f.get("resources") or []:
                    key = (f["name"], r["name"])
                    nominal[key] = parse(r["name"], r.get("nominalQuota", 0))
                    limit = r.get("borrowingLimit")
                    borrowing[key] = None if limit is None else parse(r["name"], limit)
        preemption = {"withinClusterQueue": "Never", "reclaimWithinCohort": "Never", **(spec.get("preemption") or {})}
        fungibility = {"whenCanBorrow": "MayStopSearch", "whenCanPreempt": "TryNextFlavor", **(spec.get("flavorFungibility") or {})}
        return cls(obj["metadata"]["name"], spec.get("cohortName"), groups, nominal, borrowing, preemption, fungibility, spec)


@dataclass
class Quotas:
    """Every ClusterQueue and cohort with its usage: the scheduler's snapshot."""

    queues: dict[str, Queue]
    cohort_quota: dict[str, dict[tuple[str, str], int]]  # a Cohort object's own resourceGroups
    running: list[Running]

    def usage(self, cq: str, fr: tuple[str, str], without: tuple[Running, ...] = ()) -> int:
        return sum(r.usage.get(fr[1], 0) for r in self.running
                   if r.cluster_queue == cq and r.flavor == fr[0] and r not in without)

    def members(self, cohort: str) -> list[Queue]:
        return [q for q in self.queues.values() if q.cohort == cohort]

    def cohort_total(self, cohort: str, fr: tuple[str, str]) -> int:
        """The cohort's quota: its own resourceGroups plus every member's nominal quota."""
        return self.cohort_quota.get(cohort, {}).get(fr, 0) + sum(q.nominal.get(fr, 0) for q in self.members(cohort))

    def cohort_free(self, cohort: str, fr: tuple[str, str], without: tuple[Running, ...] = ()) -> int:
        return self.cohort_total(cohort, fr) - sum(self.usage(q.name, fr, without) for q in self.members(cohort))

    def available(self, q: Queue, fr: tuple[str, str], without: tuple[Running, ...] = ()) -> int:
        used = self.usage(q.name, fr, without)
        if not q.cohort:
            return max(0, q.nominal.get(fr, 0) - used)
        free = self.cohort_free(q.cohort, fr, without)
        limit = q.borrowing.get(fr)
        if limit is not None:
            free = min(free, q.nominal.get(fr, 0) - used + limit)
        return max(0, free)

    def potential(self, q: Queue, fr: tuple[str, str]) -> int:
        if not q.cohort:
            return q.nominal.get(fr, 0)
        whole = self.cohort_total(q.cohort, fr)
        limit = q.borrowing.get(fr)
        return whole if limit is None else min(whole, q.nominal.get(fr, 0) + limit)

    def borrows(self, q: Queue, fr: tuple[str, str], amount: int, without: tuple[Running, ...] = ()) -> bool:
        return bool(q.cohort) and self.usage(q.name, fr, without) + amount > q.nominal.get(fr, 0)

    def lenders(self, q: Queue, fr: tuple[str, str]) -> list[str]:
        """Queues of the cohort whose unused nominal quota a borrower would take."""
        return [m.name for m in self.members(q.cohort or "")
                if m.name != q.name and m.nominal.get(fr, 0) > self.usage(m.name, fr)]


@dataclass
class FlavorTry:
    flavor: str
    mode: str  # FIT / PREEMPT / NO_CANDIDATES / NO_FIT
    borrows: bool = False
    reasons: list[str] = field(default_factory=list)
    targets: list[Running] = field(default_factory=list)


@dataclass
class PodSetAssignment:
    name: str
    flavor: Optional[str]
    mode: str
    borrows: bool
    tries: list[FlavorTry]
    targets: list[Running]
    requests: dict[str, int]  # the pod set's total (count x per pod)


@dataclass
class Assignment:
    """Per pod set; the workload's mode is the worst of its pod sets' (RepresentativeMode)."""

    pod_sets: list[PodSetAssignment]

    @property
    def mode(self) -> str:
        return min((ps.mode for ps in self.pod_sets), key=lambda m: _RANK[m], default=FIT)

    @property
    def borrows(self) -> bool:
        return any(ps.borrows for ps in self.pod_sets)

    @property
    def targets(self) -> list[Running]:
        seen: list[Running] = []
        for ps in self.pod_sets:
            seen += [t for t in ps.targets if t not in seen]
        return seen

    @property
    def tries(self) -> list[FlavorTry]:
        return [t for ps in self.pod_sets for t in ps.tries]


def _preferred(a: FlavorTry, b: Optional[FlavorTry], preference: Optional[str]) -> bool:
    """isPreferred: is flavor try `a` better than `b` under the queue's preference."""
    if a.mode == NO_FIT:
        return False
    if b is None or b.mode == NO_FIT:
        return True
    if (a.mode == NO_CANDIDATES) != (b.mode == NO_CANDIDATES):
        return a.mode != NO_CANDIDATES
    if preference == "PreemptionOverBorrowing" and a.borrows != b.borrows:
        return not a.borrows
    if _RANK[a.mode] != _RANK[b.mode]:
        return _RANK[a.mode] > _RANK[b.mode]
    return (not a.borrows) and b.borrows


def _stop_here(t: FlavorTry, fungibility: dict) -> bool:
    """not shouldTryNextFlavor."""
    if t.mode in (NO_FIT, NO_CANDIDATES):
        return False
    if t.mode == PREEMPT and fungibility.get("whenCanPreempt") == "TryNextFlavor":
        return False
    if t.borrows and fungibility.get("whenCanBorrow") == "TryNextFlavor":
        return False
    return True


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


def assign(quotas: Quotas, q: Queue, flavors: dict[str, dict], pod_sets: list[tuple[str, int, dict, dict[str, int]]],
           priority: int) -> Assignment:
    """Flavor assignment of a workload's pod sets [(name, count, pod spec, per-pod requests)] in queue q.

    Pod sets are assigned in order; each sees the quota the previous ones took (assignmentUsage).
    """
    assumed: dict[tuple[str, str], int] = {}
    result = []
    counts_pods = any("pods" in covered for covered, _ in q.groups)
    for name, count, spec, per_pod in pod_sets:
        requests = {r: v * count for r, v in per_pod.items() if v}
        if counts_pods:  # a queue that covers `pods` counts one per pod
            requests["pods"] = count
        psa = _assign_pod_set(quotas, q, flavors, name, spec, requests, assumed, priority)
        result.append(psa)
        if psa.flavor:
            for r, v in requests.items():
                assumed[(psa.flavor, r)] = assumed.get((psa.flavor, r), 0) + v
    return Assignment(result)


def _assign_pod_set(quotas: Quotas, q: Queue, flavors: dict[str, dict], name: str, spec: dict,
                    requests: dict[str, int], assumed: dict[tuple[str, str], int], priority: int) -> PodSetAssignment:
    for r in requests:
        if not any(r in covered for covered, _ in q.groups):
            return PodSetAssignment(name, None, NO_FIT, False,
                                    [FlavorTry("", NO_FIT, reasons=[f"resource {r} unavailable in ClusterQueue"])], [], requests)
    # Every resource group the pod set requests from gets its own flavor; ours have one group.
    covered, names = next(((c, n) for c, n in q.groups if any(r in c for r in requests)), ([], []))
    request = {r: v for r, v in requests.items() if r in covered}
    tries: list[FlavorTry] = []
    best: Optional[FlavorTry] = None
    for flavor_name in names:
        flavor = flavors.get(flavor_name)
        if flavor is None:
            tries.append(FlavorTry(flavor_name, NO_FIT, reasons=[f"flavor {flavor_name} not found"]))
            continue
        reason = check_flavor(flavor, spec)
        if reason:
            tries.append(FlavorTry(flavor_name, NO_FIT, reasons=[reason]))
            continue
        t = _try_flavor(quotas, q, flavor_name, request, assumed, priority)
        tries.append(t)
        if _stop_here(t, q.fungibility):
            best = t
            break
        if _preferred(t, best, q.fungibility.get("preference")):
            best = t
    if best is None or best.mode == NO_FIT:
        return PodSetAssignment(name, None, NO_FIT, False, tries, [], requests)
    return PodSetAssignment(name, best.flavor, best.mode, best.borrows, tries, best.targets, requests)


def _try_flavor(quotas: Quotas, q: Queue, flavor: str, own: dict[str, int], assumed: dict[tuple[str, str], int],
                priority: int) -> FlavorTry:
    t = FlavorTry(flavor, FIT)
    need_preemption = []
    request = {r: assumed.get((flavor, r), 0) + v for r, v in own.items()}
    for r, val in sorted(request.items()):
        fr = (flavor, r)
        if val > quotas.potential(q, fr):
            t.mode = NO_FIT
            t.reasons.append(f"insufficient quota for {r} in flavor {flavor}, previously considered podsets requests "
                             f"({show(r, assumed.get(fr, 0))}) + current podset request ({show(r, own[r])}) > "
                             f"maximum capacity ({show(r, quotas.potential(q, fr))})")
            return t
        t.borrows = t.borrows or quotas.borrows(q, fr, val)
        available = quotas.available(q, fr)
        if val > available:
            t.reasons.append(f"insufficient unused quota for {r} in flavor {flavor}, {show(r, val - available)} more needed")
            need_preemption.append(fr)
    if not need_preemption:
        return t
    fits_nominal = all(request[fr[1]] <= q.nominal.get(fr, 0) for fr in need_preemption)
    may_reclaim = bool(q.cohort) and not any(quotas.borrows(q, fr, request[fr[1]]) for fr in need_preemption)
    while_borrowing = (q.preemption.get("borrowWithinCohort") or {}).get("policy", "Never") != "Never"
    if not (fits_nominal or may_reclaim or while_borrowing):
        t.mode = NO_FIT
        return t
    targets, borrows_after = _simulate_preemption(quotas, q, flavor, request, need_preemption, priority)
    t.mode = PREEMPT if targets else NO_CANDIDATES
    t.targets, t.borrows = targets, borrows_after if targets else t.borrows
    return t


def _satisfies(policy: str, incoming: int, candidate: int) -> bool:
    if policy in ("LowerPriority", "LowerOrNewerEqualPriority"):
        return incoming > candidate  # equal priority: only if newer, which --used cannot say; assume older
    return policy == "Any"


def _simulate_preemption(quotas: Quotas, q: Queue, flavor: str, request: dict[str, int],
                         frs: list[tuple[str, str]], priority: int) -> tuple[list[Running], bool]:
    """Greedy removal of valid candidates (other queues' borrowing work first, lowest priority first)."""
    resources = {fr[1] for fr in frs}
    uses = [w for w in quotas.running if w.flavor == flavor and any(w.usage.get(r) for r in resources)]
    same = [w for w in uses if w.cluster_queue == q.name
            and _satisfies(q.preemption["withinClusterQueue"], priority, w.priority)]
    others = []
    if q.cohort and q.preemption["reclaimWithinCohort"] != "Never":
        for w in uses:
            owner = quotas.queues.get(w.cluster_queue)
            if owner is None or owner.name == q.name or owner.cohort != q.cohort:
                continue
            if not _satisfies(q.preemption["reclaimWithinCohort"], priority, w.priority):
                continue
            others.append(w)
    order = sorted(others, key=lambda w: w.priority) + sorted(same, key=lambda w: w.priority)
    threshold = (q.preemption.get("borrowWithinCohort") or {})
    for allow_borrowing_reclaim in (False, True):
        removed: list[Running] = []
        for w in order:
            if all(request[r] <= quotas.available(q, (flavor, r), tuple(removed)) for r in request):
                break
            if w.cluster_queue != q.name:
                owner = quotas.queues[w.cluster_queue]
                # Only while that queue is above its nominal quota (candidateIsValid).
                if all(quotas.usage(owner.name, (flavor, r), tuple(removed)) <= owner.nominal.get((flavor, r), 0) for r in resources):
                    continue
                borrowing = any(quotas.borrows(q, (flavor, r), request[r], tuple(removed)) for r in request)
                if borrowing and not (allow_borrowing_reclaim and threshold.get("policy", "Never") != "Never"
                                      and w.priority < priority):
                    continue
            removed.append(w)
        if all(request[r] <= quotas.available(q, (flavor, r), tuple(removed)) for r in request):
            return removed, any(quotas.borrows(q, (flavor, r), request[r], tuple(removed)) for r in request)
    return [], False


__all__ = ["Assignment", "FlavorTry", "PodSetAssignment", "Queue", "Quotas", "Running", "assign", "check_flavor",
           "FIT", "PREEMPT", "NO_CANDIDATES", "NO_FIT"]
