"""Alerting rules generated from the model, as one PrometheusRule (monitoring.coreos.com/v1).

Each alert names what is wrong, for whom, and carries a `runbook` annotation: the first things an
on-call engineer checks. Thresholds come from `platform.monitoring`; queue and namespace names from
the teams. Every rule is unit-tested with promtool against synthetic series (tests/monitoring/test_monitoring_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.kubernetes.render import KUEUE_NAMESPACE, MONITORING_NAMESPACE
from components.model import Platform

from . import multikueue
from . import promql as q

RULE_NAME = "gpu-batch-platform"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    runbook: str

    def rule(self) -> dict:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "platform": "gpu-batch"},
            "annotations": {"summary": self.summary, "runbook": self.runbook},
        }


def _hourly_over(counter: str, queue_label: str, threshold: int) -> str:
    """More than `threshold` increments of a Kueue counter in the last hour, per ClusterQueue and reason."""
    return f"sum by ({queue_label}, reason) (increase({counter}{{{q.NOT_FOLLOWER}}}[1h])) > {threshold}"


def _pending_alerts(platform: Platform) -> list[Alert]:
    """Work waiting in a class's LocalQueue with nothing admitted from it for longer than the class allows.

    Kueue exposes no age of the oldest pending workload, so "pending longer than N minutes" is: the
    LocalQueue had pending workloads and admitted none for N minutes (`for` covers the whole window).
    """
    alerts = []
    minutes = platform.monitoring.pending_minutes
    for cls in q.classes(platform):
        n = getattr(minutes, cls)
        # LocalQueues exist only in team namespaces: the class's queue is named after the class.
        sel = f'{q.NOT_FOLLOWER}, name="{cls}"'
        alerts.append(Alert(
            name=f"KueuePending{cls.capitalize()}TooLong",
            expr=(f"sum by (namespace, name) (kueue_local_queue_pending_workloads{{{sel}}}) > 0\n"
                  f"unless on (namespace, name)\n"
                  f"sum by (namespace, name) (increase(kueue_local_queue_admitted_workloads_total{{{sel}}}[{n}m])) > 0"),
            for_=f"{n}m",
            severity="warning" if cls in ("low", "shared", "dws") else "page",
            summary=f"{{{{ $labels.namespace }}}}: {cls} work has waited over {n}m with nothing admitted",
            runbook=("kubectl -n {{ $labels.namespace }} get workloads; kubectl describe workload <name> shows the "
                     "pending reason (quota, flavor, admission check). Check the Teams dashboard for quota use "
                     "vs nominal and whether the cohort lent its capacity away."),
        ))
    return alerts


# Argo Workflows v4.0.6 docs/metrics.md "Default Controller Metrics" (prefixed `argo_workflows_`): `pods_gauge`,
# workflow-created pods by `phase`, with no namespace label. Per team, the step pods are plain-pod Workloads of
# the team's pipeline queue (Kueue v0.19.2 argo_workflow.md), so Kueue's per-LocalQueue gauges say whose
# they are and that they wait for quota.
ARGO_PODS = "argo_workflows_pods_gauge"


def _pipeline_alerts(platform: Platform) -> list[Alert]:
    from components.workloads.pipeline import PIPELINE_QUEUE

    teams = sorted(t.name for t in platform.teams if t.pipelines)
    if not teams:
        return []
    n = getattr(platform.monitoring.pending_minutes, PIPELINE_QUEUE)
    sel = f'{q.NOT_FOLLOWER}, name="{PIPELINE_QUEUE}", namespace=~"{"|".join(teams)}"'
    return [Alert(
        name="WorkflowStepsPendingOnQuota",
        # max: each controller replica may export the gauge; a pending workflow pod is one Kueue has not admitted.
        expr=(f"sum by (namespace) (kueue_local_queue_pending_workloads{{{sel}}}) > 0\n"
              f"unless on (namespace)\n"
              f"sum by (namespace) (increase(kueue_local_queue_admitted_workloads_total{{{sel}}}[{n}m])) > 0\n"
              f'and on () (max({ARGO_PODS}{{phase="Pending"}}) > 0)'),
        for_=f"{n}m",
        severity="warning",
        summary=(f"{{{{ $labels.namespace }}}}: workflow step pods have waited over {n}m for {PIPELINE_QUEUE} quota "
                 "with nothing admitted"),
        runbook=("kubectl -n {{ $labels.namespace }} get workflows,workloads; each step pod is its own Workload: "
                 "kubectl describe workload <name> shows why it waits (quota, flavor). `explain` on the workflow file "
                 "says which step fits and which waits; a fan-out wider than the queue's quota waits by design."),
    )]


def alerts(platform: Platform) -> list[Alert]:
    m = platform.monitoring
    util = q.GPU_UTIL
    # Every ClusterQueue in the cluster is the platform's, so the queue rules need no list of names.
    return _pending_alerts(platform) + _pipeline_alerts(platform) + [Alert(**a) for a in multikueue.alerts(platform)] + [
        Alert(
            name="ClusterQueueAtQuotaWithPendingWork",
            expr=(f'sum by (cluster_queue) (kueue_cluster_queue_resource_usage{{{q.NOT_FOLLOWER}, {q.GPU}}})\n'
                  f'>= sum by (cluster_queue) (kueue_cluster_queue_nominal_quota{{{q.NOT_FOLLOWER}, {q.GPU}}})\n'
                  f'and on (cluster_queue)\n'
                  f'sum by (cluster_queue) (kueue_pending_workloads{{{q.NOT_FOLLOWER}}}) > 0'),
            for_="30m",
            severity="warning",
            summary="ClusterQueue {{ $labels.cluster_queue }} uses all its nominal GPUs and still has pending work",
            runbook=("The team needs more quota or must wait for borrowable capacity. Compare usage and nominal per "
                     "flavor on the Teams dashboard; raise the team's gpus in the stack config if the pools have room "
                     "(the plan reports over-subscription), or ask peers in the cohort to free capacity."),
        ),
        Alert(
            name="KueueEvictionStorm",
            expr=_hourly_over("kueue_evicted_workloads_total", "cluster_queue", m.evictions_per_hour),
            for_="5m",
            severity="warning",
            summary=f"Over {m.evictions_per_hour} evictions ({{{{ $labels.reason }}}}) in ClusterQueue {{{{ $labels.cluster_queue }}}} in the last hour",
            runbook=("reason PodsReadyTimeout: pods did not start within waitForPodsReady (GPU scale-up or image pull "
                     "too slow; see GpuPodsUnschedulable). reason Preempted: higher-priority work reclaims capacity; "
                     "check the preemptions panel. kubectl get events -A --field-selector reason=Evicted."),
        ),
        Alert(
            name="KueuePreemptionStorm",
            expr=_hourly_over("kueue_preempted_workloads_total", "preempting_cluster_queue", m.evictions_per_hour),
            for_="5m",
            severity="warning",
            summary=f"ClusterQueue {{{{ $labels.preempting_cluster_queue }}}} preempted over {m.evictions_per_hour} workloads ({{{{ $labels.reason }}}}) in an hour",
            runbook=("A high-priority queue keeps reclaiming borrowed capacity: low-priority jobs restart over and "
                     "over. Check that low-priority jobs checkpoint, and whether the high queue's nominal quota "
                     "should be raised so it stops reclaiming."),
        ),
        Alert(
            name="AllocatedGpusIdle",
            # Idle for the whole window, and allocated to the same pod since its start (the offset series).
            expr=q.in_team_namespaces(
                f"max by (namespace, pod, node) (max_over_time({util}[{m.idle_gpu_minutes}m])) < {m.idle_gpu_percent}\n"
                f"and on (namespace, pod, node)\n"
                f"max by (namespace, pod, node) ({util} offset {m.idle_gpu_minutes}m)"),
            for_="5m",
            severity="warning",
            summary=("GPUs of {{ $labels.namespace }}/{{ $labels.pod }} stayed under "
                     f"{m.idle_gpu_percent}% for {m.idle_gpu_minutes}m"),
            runbook=("An admitted workload holds GPUs it does not use (stuck data loading, a hung rank, a debug "
                     "pod). kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }}; ask the team to fix or "
                     "delete it: its quota is blocked for everyone in the cohort."),
        ),
        Alert(
            name="GpuPodsUnschedulable",
            expr=q.in_team_namespaces(
                "sum by (namespace, pod) (kube_pod_status_unschedulable)\n"
                "* on (namespace, pod)\n"
                f"(sum by (namespace, pod) (kube_pod_container_resource_requests{{{q.KSM_GPU}}}) > 0)") + " > 0",
            for_=f"{m.scale_up_minutes}m",
            severity="page",
            summary="Admitted GPU pod {{ $labels.namespace }}/{{ $labels.pod }} has found no node for "
                    f"{m.scale_up_minutes}m: its GPU pool cannot scale up",
            runbook=("kubectl -n {{ $labels.namespace }} describe pod {{ $labels.pod }}: look for the autoscaler's "
                     "NotTriggerScaleUp / GCE_STOCKOUT / quota messages. Check the pool's max nodes and the NAP "
                     "GPU limits in the plan's capacity table, regional GPU quota, and the reservation."),
        ),
        Alert(
            name="KueueControllerDown",
            expr=f"absent({q.KUEUE_UP} == 1)",
            for_="5m",
            severity="page",
            summary=f"No Kueue controller in {KUEUE_NAMESPACE} answers its metrics scrape",
            runbook=(f"kubectl -n {KUEUE_NAMESPACE} get pods,events. While Kueue is down no job is admitted and its "
                     "fail-closed webhooks reject new Jobs in team namespaces. A crash loop at start is usually a "
                     "bad Configuration (see the plan's manifests/Configuration.yaml)."),
        ),
    ]


def prometheus_rule(platform: Platform) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": RULE_NAME, "namespace": MONITORING_NAMESPACE},
        "spec": {"groups": [{"name": "gpu-batch-platform", "rules": [a.rule() for a in alerts(platform)]}]},
    }
