"""What Kueue's job reconciler does with a Job/JobSet before any quota is looked at: is its namespace
managed at all, and which priority its Workload gets.

- Namespaces: every cluster has `default`, `kube-system`, `kube-public` and `kube-node-lease`
  (Kubernetes "Namespaces": "Kubernetes starts with four initial namespaces"); the rest are the
  rendered Namespace objects. Each carries `kubernetes.io/metadata.name` (Kubernetes "Well-Known Labels").
- Managed namespaces: `ManagedJobsNamespaceSelectorAlwaysRespected` is GA and locked on in Kueue
  v0.19 (`pkg/features/kube_features.go`); `pkg/controller/jobframework/reconciler.go` returns before
  anything else for a namespace outside `managedJobsNamespaceSelector`, queue-name label or not, and
  the webhook does not suspend it (`defaults.go` WorkloadShouldBeSuspended) - so the job runs outside
  every quota (docs `tasks/manage/enforce_job_management/opt_in_namespace_management.md`). Without a
  selector in the Configuration, Kueue's default excludes kube-system and kueue-system.
- Priority (`reconciler.go` ExtractPriority): the `kueue.x-k8s.io/priority-class` label names a
  WorkloadPriorityClass and wins over the pods' PriorityClass; then the first pod set's
  priorityClassName; then the global default PriorityClass (the lowest value if several,
  `pkg/util/priority/priority.go` getDefaultPriorityClass), else 0. A class that does not exist fails
  the Workload's construction: no Workload, and the job stays suspended. (The `default`
  WorkloadPriorityClass of WorkloadPriorityClassDefaulting is an alpha gate, off by default.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .cluster import ClusterView
from .matching import labels_match
from .workload import Workload

BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
WORKLOAD_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
DEFAULT_MANAGED_SELECTOR = {"matchExpressions": [
    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "kueue-system"]}]}


def kueue_config(cluster: ClusterView) -> dict:
    configs = cluster.of_kind("Configuration")
    return configs[0] if configs else {}


def namespace_labels(cluster: ClusterView, name: str) -> Optional[dict[str, str]]:
    ns = cluster.named("Namespace", name)
    if ns is None and name not in BUILTIN_NAMESPACES:
        return None
    return {"kubernetes.io/metadata.name": name, **(((ns or {}).get("metadata") or {}).get("labels") or {})}


def managed(cluster: ClusterView, labels: dict[str, str]) -> bool:
    selector = kueue_config(cluster).get("managedJobsNamespaceSelector")
    return labels_match(DEFAULT_MANAGED_SELECTOR if selector is None else selector, labels)


def team_namespaces(cluster: ClusterView) -> list[str]:
    """Namespaces a team submits to: Kueue manages them and they hold a LocalQueue."""
    with_queues = {(lq.get("metadata") or {}).get("namespace") for lq in cluster.of_kind("LocalQueue")}
    return sorted(n for n in with_queues if n and (labels := namespace_labels(cluster, n)) is not None
                  and managed(cluster, labels))


@dataclass
class Priority:
    value: int
    source: str  # for the trace: which class gave it


class NoWorkload(Exception):
    """The priority class does not exist: Kueue builds no Workload (reason, fix)."""


def priority_classes(cluster: ClusterView) -> dict[str, int]:
    return {pc["metadata"]["name"]: int(pc.get("value", 0)) for pc in cluster.of_kind("PriorityClass")}


def default_priority(cluster: ClusterView) -> Priority:
    defaults = [pc for pc in cluster.of_kind("PriorityClass") if pc.get("globalDefault")]
    if not defaults:
        return Priority(0, "no global default PriorityClass")
    lowest = min(defaults, key=lambda pc: int(pc.get("value", 0)))
    return Priority(int(lowest.get("value", 0)), f"global default PriorityClass {lowest['metadata']['name']}")


def priority_of(cluster: ClusterView, workload: Workload) -> Priority:
    wpc_name = workload.labels.get(WORKLOAD_PRIORITY_LABEL)
    if wpc_name:
        wpc = cluster.named("WorkloadPriorityClass", wpc_name)
        if wpc is None:
            known = sorted(o["metadata"]["name"] for o in cluster.of_kind("WorkloadPriorityClass"))
            raise NoWorkload(f'WorkloadPriorityClass "{wpc_name}" (label {WORKLOAD_PRIORITY_LABEL}) does not exist, '
                             "so Kueue creates no Workload and the job stays suspended",
                             f"remove the label {WORKLOAD_PRIORITY_LABEL}" + (f" or set it to one of {', '.join(known)}"
                                                                             if known else " (this cluster defines no "
                                                                             "WorkloadPriorityClass)"))
        return Priority(int(wpc.get("value", 0)), f"WorkloadPriorityClass {wpc_name}")
    pclass = workload.priority_class
    if not pclass:
        return default_priority(cluster)
    classes = priority_classes(cluster)
    if pclass not in classes:
        raise NoWorkload(f"PriorityClass {pclass} does not exist, so Kueue creates no Workload and the job stays suspended",
                         f"set priorityClassName to one of {', '.join(sorted(classes))}")
    return Priority(classes[pclass], f"PriorityClass {pclass}")
