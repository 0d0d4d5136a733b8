"""High availability of the platform's own pods: how replicas spread, and whether the system pool can hold them.

Every platform controller (Kueue, JobSet, and the monitoring stack's) runs `controllers.replicas` pods
on the system pool, spread over distinct nodes (hard) and zones (hard or preferred), with a
PodDisruptionBudget that keeps one running through node upgrades. `spread_issues` checks the system
pool can honour that spread before anything exists; the chart values read the same functions.

Scheduling semantics encoded here (kubernetes.io, "Pod Topology Spread Constraints" and "Assigning
Pods to Nodes", inter-pod anti-affinity): with `whenUnsatisfiable: DoNotSchedule` / a required
anti-affinity term, a replica that finds no node in a new domain stays Pending; `matchLabelKeys:
[pod-template-hash]` counts only pods of the same ReplicaSet, so a Deployment's rolling-update surge pod
is not blocked by the pod it replaces. Only Deployment pods carry that label (kubernetes.io "Deployments",
Pod-template-hash label: added by the Deployment controller); a key the incoming pod lacks is ignored, so
on StatefulSet pods (labelled `controller-revision-hash`, k8s.io/api apps/v1 StatefulSetRevisionLabel)
the rule would do nothing. A StatefulSet needs none: its rolling update deletes a pod before creating the
replacement, so no surge pod competes with its predecessor. Node pool sizes are GKE's
`total_min_node_count` (all zones together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from .errors import Issue
from .schema import Platform

ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"
SAME_REPLICASET = ["pod-template-hash"]


# Argo Workflows (installed when a team has pipelines): the release name and its two Deployments' selector
# labels, argo-helm argo-workflows-1.0.18 templates/_helpers.tpl "argo-workflows.selectorLabels"
# (name <chart name>-<component name>, instance <release>; controller.name and server.name in values.yaml).
ARGO_RELEASE = "argo-workflows"
ARGO_POD_LABELS = {
    "argo-workflow-controller": {"app.kubernetes.io/name": "argo-workflows-workflow-controller",
                                 "app.kubernetes.io/instance": ARGO_RELEASE},
    "argo-server": {"app.kubernetes.io/name": "argo-workflows-server", "app.kubernetes.io/instance": ARGO_RELEASE},
}


@dataclass(frozen=True)
class Controller:
    """One platform Deployment that must survive a node or zone loss."""

    name: str
    pod_labels: dict[str, str]  # the chart's selector labels (release-name independent)
    replicas: int
    spread_across_zones: bool
    replicas_path: str = "controllers.replicas"  # where the replica count is configured
    workload: str = "Deployment"  # what creates the pods: Deployment or StatefulSet


def platform_controllers(platform: Platform) -> list[Controller]:
    """Every HA controller on the system pool. Labels are the charts' selector labels:
    kueue v0.19.2 charts/kueue/templates/_helpers.tpl ("kueue.selectorLabels"), jobset v0.12.0
    charts/jobset/templates/controller/_helpers.tpl ("jobset.controller.selectorLabels"), and the
    label prometheus-operator puts on the Prometheus / Alertmanager pods it creates
    (`app.kubernetes.io/name`; one of each lives in the monitoring namespace, and a spread's selector
    counts pods of the pod's own namespace only). Those pods belong to StatefulSets the operator builds
    (prometheus-operator v0.93.0 pkg/prometheus/server/statefulset.go and pkg/alertmanager/statefulset.go,
    makeStatefulSetSpec)."""
    ha, mon = platform.controllers, platform.monitoring
    controllers = [
        Controller("kueue", {"app.kubernetes.io/name": "kueue", "control-plane": "controller-manager"},
                   ha.replicas, ha.spread_across_zones),
        Controller("jobset", {"app.kubernetes.io/name": "jobset", "app.kubernetes.io/component": "controller"},
                   ha.replicas, ha.spread_across_zones),
        Controller("prometheus", {"app.kubernetes.io/name": "prometheus"},
                   mon.prometheus_replicas, ha.spread_across_zones, "monitoring.prometheusReplicas", "StatefulSet"),
        Controller("alertmanager", {"app.kubernetes.io/name": "alertmanager"},
                   mon.alertmanager_replicas, ha.spread_across_zones, "monitoring.alertmanagerReplicas", "StatefulSet"),
    ]
    pipelines = [Controller(name, labels, ha.replicas, ha.spread_across_zones)
                 for name, labels in ARGO_POD_LABELS.items()] if any(t.pipelines for t in platform.teams) else []
    return (controllers if mon.enabled else controllers[:2]) + pipelines


def controller(platform: Platform, name: str) -> Controller:
    return next(c for c in platform_controllers(platform) if c.name == name)


def _same_revision(controller: Controller) -> dict:
    """`matchLabelKeys` where it counts only the pod's own ReplicaSet: Deployments (see module docstring)."""
    return {"matchLabelKeys": SAME_REPLICASET} if controller.workload == "Deployment" else {}


def topology_spread(controller: Controller) -> list[dict]:
    """`topologySpreadConstraints` for charts that take them (Kueue, the Prometheus and Alertmanager
    specs): distinct nodes always, zones hard or soft."""
    if controller.replicas < 2:
        return []
    selector = {"matchLabels": dict(controller.pod_labels)}
    zone_rule = "DoNotSchedule" if controller.spread_across_zones else "ScheduleAnyway"
    return [
        {"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": zone_rule,
         "labelSelector": selector, **_same_revision(controller)},
        {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": selector, **_same_revision(controller)},
    ]


def anti_affinity(controller: Controller) -> dict:
    """`affinity` for charts without topology spread values (JobSet 0.12.0 has only `controller.affinity`).
    `matchLabelKeys` in pod (anti-)affinity is feature gate MatchLabelKeysInPodAffinity: beta and on by
    default from Kubernetes 1.31, GA (locked on) from 1.33 (kubernetes.io feature gates)."""
    if controller.replicas < 2:
        return {}

    def term(key: str) -> dict:
        return {"labelSelector": {"matchLabels": dict(controller.pod_labels)}, "topologyKey": key,
                **_same_revision(controller)}

    required = [term(HOST_KEY)]
    preferred = []
    if controller.spread_across_zones:
        required.append(term(ZONE_KEY))
    else:
        preferred.append({"weight": 100, "podAffinityTerm": term(ZONE_KEY)})
    rules: dict = {"requiredDuringSchedulingIgnoredDuringExecution": required}
    if preferred:
        rules["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    return {"podAntiAffinity": rules}


def disruption_budget(controller: Controller) -> dict:
    """Chart PDB values. A single replica gets none: minAvailable 1 of 1 would block every node drain
    (kubernetes.io "Specifying a Disruption Budget": no voluntary eviction may then happen)."""
    return {"enabled": controller.replicas > 1, "minAvailable": 1}


def spread_issues(platform: Platform) -> Iterator[Issue]:
    """The system pool's minimum size and zones must hold every controller's spread, or replicas stay
    Pending exactly when a node is lost (the autoscaler may add nodes, but not during a zone outage)."""
    pool = platform.cluster.system_pool
    zones = len(platform.zones)
    for c in platform_controllers(platform):
        if c.replicas < 2:
            continue
        if pool.min_nodes < c.replicas:
            yield Issue(
                "cluster.systemPool.minNodes",
                f"{pool.min_nodes} node(s) cannot hold {c.replicas} {c.name} replicas on distinct nodes "
                f"({c.replicas_path} {c.replicas}); one node going down would stop the platform",
                f"set cluster.systemPool.minNodes to at least {c.replicas}, or {c.replicas_path} to {pool.min_nodes}",
            )
        if c.spread_across_zones and zones < c.replicas:
            yield Issue(
                "controllers.spreadAcrossZones",
                f"{c.replicas} {c.name} replicas cannot be in distinct zones: the platform has {zones} zone(s)",
                f"add zones, lower {c.replicas_path} to {zones}, or set spreadAcrossZones: false",
            )
