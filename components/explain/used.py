"""The workloads already holding quota, as Kueue's scheduler sees them: their ClusterQueue, the flavor
and total requests of every pod set, their priority and when their quota was reserved (the most
recently admitted of equal candidates is preempted first: `preemption/common/ordering.go`
CandidatesOrdering). Two ways in, both checked against the rendered objects:

- `--used cq=team-b-high,flavor=l4-reserved,pods=2,gpu=1,cpu=8,memory=32Gi,priority=high,admitted=30m`:
  one running workload; `gpu`, `cpu`, `memory` (and any resource the queue covers, by its name) are
  per pod, as in the pod spec; `pods` defaults to 1, `priority` (a PriorityClass, a
  WorkloadPriorityClass or an integer) to the class of the queue, `admitted` (minutes/hours ago, or an
  RFC 3339 time) to the order given (later entries admitted later);
- `--running FILE`: Kueue Workload objects as `kubectl get workloads -A -o yaml` prints them; the
  admitted ones (`status.admission`) count with `podSetAssignments[].flavors` and `resourceUsage`
  (what Kueue charged, after LimitRange defaults), `spec.priority`, and the QuotaReserved condition's
  time (kueue.x-k8s.io/v1beta2 Workload).
Nonsense is refused with the entry and the fix: unknown keys, queues, flavors, resources or classes;
negative, fractional GPU, or more than the queue could ever be admitted (nominal + borrowingLimit, or
the cohort's whole quota: Kueue would never have admitted it).
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Optional

from components.model.quantity import parse_quantity

from .cluster import ClusterView
from .jobs import priority_classes
from .quantity import parse, show
from .quota import Queue, Running

GPU = "nvidia.com/gpu"
CLASS_LABEL = "batch-platform/class"
KEYS = ("cq", "flavor", "pods", "priority", "admitted", "name")
MAX_PODS = 100_000
EXAMPLE = "cq=team-b-high,flavor=l4-reserved,pods=1,gpu=2,cpu=20,memory=80Gi"


class UsedError(ValueError):
    pass


def _priority(cluster: ClusterView, value: str, where: str) -> int:
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    classes = priority_classes(cluster)
    classes.update({o["metadata"]["name"]: int(o.get("value", 0)) for o in cluster.of_kind("WorkloadPriorityClass")})
    if value not in classes:
        raise UsedError(f"{where}: priority {value!r} is no PriorityClass or WorkloadPriorityClass; "
                        f"known: {', '.join(sorted(classes))} (or give an integer)")
    return classes[value]


def _time(value: str, where: str, now: float) -> float:
    m = re.fullmatch(r"(\d+)([mh])", value)
    if m:
        return now - int(m.group(1)) * (60 if m.group(2) == "m" else 3600)
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UsedError(f"{where}: admitted {value!r}: write minutes or hours ago (30m, 2h) or an RFC 3339 time") from None


def _queue(cluster: ClusterView, name: str, where: str) -> Queue:
    cq = cluster.named("ClusterQueue", name)
    if cq is None:
        known = ", ".join(sorted(o["metadata"]["name"] for o in cluster.of_kind("ClusterQueue")))
        raise UsedError(f"{where}: no ClusterQueue {name!r}; known: {known}")
    return Queue.from_object(cq)


def _amount(resource: str, value: Any, where: str) -> int:
    exact = parse_quantity(str(value).strip())
    if exact is None:
        raise UsedError(f"{where}: {resource} {value!r} is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)")
    if exact < 0:
        raise UsedError(f"{where}: {resource} {value} is negative")
    if "/" in resource and "kubernetes.io/" not in resource and exact != exact.to_integral_value():
        raise UsedError(f"{where}: {resource} {value} is not a whole number (an extended resource)")
    return parse(resource, value)


def parse_used(entries: list[str], cluster: ClusterView, now: float = 0.0) -> list[Running]:
    running = []
    for i, entry in enumerate(entries):
        where = f"--used {entry!r}"
        if re.fullmatch(r"[\w.-]+=[\w.-]+:\d+(:[\w.-]+)?", entry):
            raise UsedError(f"{where}: the CQ=FLAVOR:GPUS form guessed cpu and memory from quota ratios; "
                            f"write key=value pairs with the per-pod requests, e.g. {EXAMPLE}")
        fields: dict[str, str] = {}
        for part in entry.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise UsedError(f"{where}: write key=value pairs, e.g. {EXAMPLE}")
            if key.strip() in fields:
                raise UsedError(f"{where}: {key.strip()} is given twice")
            fields[key.strip()] = value.strip()
        for key in ("cq", "flavor"):
            if key not in fields:
                raise UsedError(f"{where}: {key}= is missing, e.g. {EXAMPLE}")
        q = _queue(cluster, fields["cq"], where)
        flavor = fields["flavor"]
        flavors = [f for _, names in q.groups for f in names]
        if flavor not in flavors:
            raise UsedError(f"{where}: ClusterQueue {q.name} has no flavor {flavor!r}; its flavors: {', '.join(flavors)}")
        try:
            pods = int(fields.get("pods", "1"))
        except ValueError:
            raise UsedError(f"{where}: pods={fields['pods']} is not a whole number") from None
        if not 1 <= pods <= MAX_PODS:
            raise UsedError(f"{where}: pods={pods} must be between 1 and {MAX_PODS}")
        per_pod = {}
        for key, value in fields.items():
            if key in KEYS:
                continue
            resource = GPU if key == "gpu" else key
            if q.group_of(resource) is None:
                covered = sorted({r for c, _ in q.groups for r in c})
                raise UsedError(f"{where}: {key!r} is neither a key ({', '.join(KEYS)}) nor a resource ClusterQueue "
                                f"{q.name} covers ({', '.join(covered)}; gpu for nvidia.com/gpu)")
            per_pod[resource] = _amount(resource, value, where)
        if not per_pod:
            raise UsedError(f"{where}: give the per-pod requests (gpu=, cpu=, memory=), e.g. {EXAMPLE}")
        usage = {(flavor, r): v * pods for r, v in per_pod.items()}
        if q.group_of("pods") is not None:
            usage[(flavor, "pods")] = pods
        label = ((cluster.named("ClusterQueue", q.name).get("metadata") or {}).get("labels") or {}).get(CLASS_LABEL)
        priority = _priority(cluster, fields.get("priority") or label or "0", where)
        admitted = _time(fields["admitted"], where, now) if "admitted" in fields else now - (len(entries) - i)
        running.append(Running(fields.get("name", f"used-{i + 1}"), q.name, usage, priority, admitted, admitted))
    return running


def _meta_time(value: Optional[str], where: str) -> float:
    return _time(str(value), where, 0.0) if value else 0.0


def parse_workloads(objs: list[Any], cluster: ClusterView, source: str) -> tuple[list[Running], int]:
    """Admitted Workload objects (a List's items, or documents) -> running workloads; and how many
    were not admitted (pending Workloads hold no quota)."""
    items = []
    for o in objs:
        if isinstance(o, dict) and o.get("kind") == "List":
            items += o.get("items") or []
        elif o is not None:
            items.append(o)
    running, pending = [], 0
    for o in items:
        if not isinstance(o, dict) or o.get("kind") != "Workload":
            raise UsedError(f"{source}: {(o or {}).get('kind') if isinstance(o, dict) else type(o).__name__} is not a "
                            "kueue.x-k8s.io Workload (kubectl get workloads -A -o yaml)")
        meta = o.get("metadata") or {}
        where = f"{source}: Workload {meta.get('namespace', '')}/{meta.get('name', '?')}"
        admission = (o.get("status") or {}).get("admission")
        if not admission:
            pending += 1
            continue
        q = _queue(cluster, admission.get("clusterQueue", ""), where)
        flavors = {f for _, names in q.groups for f in names}
        usage: dict = {}
        for psa in admission.get("podSetAssignments") or []:
            for resource, flavor in (psa.get("flavors") or {}).items():
                if flavor not in flavors:
                    raise UsedError(f"{where}: flavor {flavor!r} is not in ClusterQueue {q.name}")
                amount = _amount(resource, (psa.get("resourceUsage") or {}).get(resource, 0), where)
                usage[(flavor, resource)] = usage.get((flavor, resource), 0) + amount
        spec = o.get("spec") or {}
        ref = spec.get("priorityClassRef") or {}
        priority = int(spec["priority"]) if spec.get("priority") is not None else \
            _priority(cluster, ref["name"], where) if ref.get("name") else 0
        reserved = next((c.get("lastTransitionTime") for c in (o.get("status") or {}).get("conditions") or []
                         if c.get("type") == "QuotaReserved" and c.get("status") == "True"), None)
        running.append(Running(meta.get("name", "?"), q.name, usage, priority, _meta_time(reserved, where),
                               _meta_time(meta.get("creationTimestamp"), where)))
    return running, pending


def check_capacity(running: list[Running], cluster: ClusterView) -> None:
    """Refuse usage no queue could have been admitted with: over its potential (nominal + borrowingLimit,
    within the cohort's quota) or, summed over a cohort, over the cohort's quota."""
    from .simulate import quotas_of

    quotas = quotas_of(cluster, running)
    for q in quotas.queues.values():
        for fr in sorted({fr for w in running if w.cluster_queue == q.name for fr in w.usage}, key=_gpu_first):
            used, cap = quotas.usage(q.name, fr), quotas.potential(q, fr)
            if used > cap:
                raise UsedError(f"{', '.join(w.name for w in running if w.cluster_queue == q.name)}: {show(fr[1], used)} "
                                f"{fr[1]} in flavor {fr[0]} of ClusterQueue {q.name}, more than it can ever be admitted "
                                f"({show(fr[1], cap)}: nominal + borrowingLimit within its cohort)")
    for cohort in sorted({q.cohort for q in quotas.queues.values() if q.cohort}):
        for fr in sorted({fr for w in running for fr in w.usage if quotas.queues[w.cluster_queue].cohort == cohort},
                         key=_gpu_first):
            used, cap = quotas.cohort_usage(cohort, fr), quotas.cohort_subtree(cohort, fr)
            if used > cap:
                raise UsedError(f"the running workloads of cohort {cohort} use {show(fr[1], used)} {fr[1]} in flavor "
                                f"{fr[0]} beyond their queues' own quota; the cohort lends only {show(fr[1], cap)}")


def _gpu_first(fr: tuple[str, str]) -> tuple:
    return (fr[1] != GPU, fr)
