"""A fleet manager's view of its workers (pure): whether each worker is connected, what is dispatched
to and admitted on it, and the alert when one stops answering.

Kueue exposes no metric of a MultiKueueCluster's connection: its `Active` condition is only in the
object's status (kubernetes-sigs/kueue v0.19.2 apis/kueue/v1beta2/multikueue_types.go
MultiKueueClusterActive; "MC - Active: True Reason: Active Message: Connected" in
site/content/en/docs/tasks/manage/setup_multikueue.md). kube-state-metrics turns it into a gauge with its
Custom Resource State configuration (kubernetes/kube-state-metrics v2.20.0, the app of chart 8.4.0:
docs/metrics/extend/customresourcestate-metrics.md "Example for status conditions on Kubernetes
Controllers"; a condition's "True"/"False" becomes 1/0, pkg/customresourcestate/registry_factory.go
toFloat64). The per-worker counters are Kueue's own (site/content/en/docs/reference/metrics.md:
`multikueue_workloads_dispatched_total`, `multikueue_workloads_admitted_total`, labels cluster_queue
and cluster; no `kueue_` prefix, pkg/metrics/metrics.go sets only Subsystem "multikueue").
"""

from __future__ import annotations

from components.model import Platform, fleet

from .promql import NOT_FOLLOWER

# kube-state-metrics names a custom resource metric kube_customresource_<name> (the default prefix).
ACTIVE = "kube_customresource_multikueuecluster_status"
DISPATCHED = "multikueue_workloads_dispatched_total"
ADMITTED = "multikueue_workloads_admitted_total"
UNREACHABLE_MINUTES = 5


def ksm_values(platform: Platform) -> dict:
    """The kube-state-metrics subchart values a manager adds: the condition as a metric, and the right to
    list and watch MultiKueueClusters (chart 8.4.0 `customResourceState`, `rbac.extraRules`)."""
    if fleet.role(platform) != "manager":
        return {}
    return {
        "customResourceState": {"enabled": True, "config": {"kind": "CustomResourceStateMetrics", "spec": {"resources": [{
            "groupVersionKind": {"group": "kueue.x-k8s.io", "kind": "MultiKueueCluster", "version": "v1beta2"},
            "labelsFromPath": {"name": ["metadata", "name"]},
            "metrics": [{"name": "multikueuecluster_status", "help": "MultiKueueCluster status conditions (Active: "
                         "the manager is connected to the worker)",
                         "each": {"type": "Gauge", "gauge": {"path": ["status", "conditions"],
                                                             "labelsFromPath": {"type": ["type"]},
                                                             "valueFrom": ["status"]}}}],
        }]}}},
        "rbac": {"extraRules": [{"apiGroups": ["kueue.x-k8s.io"], "resources": ["multikueueclusters"],
                                 "verbs": ["list", "watch"]}]},
    }


def alerts(platform: Platform) -> list[dict]:
    """The manager's alerts as rules.Alert fields (rules.py builds them)."""
    if fleet.role(platform) != "manager":
        return []
    return [dict(
        name="MultiKueueWorkerUnreachable",
        expr=f'max by (name) ({ACTIVE}{{type="Active"}}) == 0',
        for_=f"{UNREACHABLE_MINUTES}m",
        severity="page",
        summary="The manager has lost worker {{ $labels.name }}: nothing new is dispatched to it, and what it runs "
                f"is requeued after {platform.fleet.worker_lost_timeout_minutes}m (workerLostTimeout)",
        runbook=("kubectl get multikueuecluster {{ $labels.name }} -o yaml: the Active condition's reason and "
                 "message say why (kubeconfig Secret missing or invalid, connection refused). Check the worker's "
                 "authorized networks admit the manager's NAT address (its stack output natAddresses), that the "
                 "worker's token Secret exists, and rotate as docs/design.md \"A fleet\" says."),
    )]


def panel_queries(platform: Platform) -> list[tuple[str, str, str]]:
    """(title, expr, legend) of the manager's MultiKueue panels; [] on any other stack."""
    if fleet.role(platform) != "manager":
        return []
    return [
        ("Workers connected (MultiKueueCluster Active)", f'max by (name) ({ACTIVE}{{type="Active"}})', "{{name}}"),
        ("Workloads dispatched to each worker (per hour)",
         f"sum by (cluster) (increase({DISPATCHED}{{{NOT_FOLLOWER}}}[1h]))", "{{cluster}}"),
        ("Workloads admitted on each worker (per hour)",
         f"sum by (cluster) (increase({ADMITTED}{{{NOT_FOLLOWER}}}[1h]))", "{{cluster}}"),
    ]
