"""Every Kubernetes object the monitoring layer applies (the chart aside), rendered once from the model.

The component creates exactly these and the validation checks exactly these (vendored Prometheus
Operator CRD schemas for the monitors and rules, kubernetes-validate for the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.kubernetes import argo, isolation
from components.kubernetes.render import MONITORING_NAMESPACE
from components.model import Platform

from . import adapter, dashboards, rules, scrape

NAMESPACE = MONITORING_NAMESPACE


def namespace() -> dict:
    # Deliberately without batch-platform/kueue-managed: Kueue's fail-closed Job webhook selects only
    # namespaces carrying that label, so it can never block the chart's Jobs here, even while Kueue
    # is down or starting (kubernetes-sigs/kueue#5244, #4141).
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {
                "batch-platform/component": "monitoring",
                # privileged: the chart's node-exporter uses hostNetwork, hostPID and a hostPath of / (isolation.py).
                **isolation.pod_security_labels(isolation.PRIVILEGED)}}}


@dataclass(frozen=True)
class MonitoringManifests:
    namespace: dict
    network_policies: list[dict]  # ingress only from the namespace itself (isolation.monitoring_network_policies)
    monitors: list[dict]  # ServiceMonitor (Kueue), PodMonitors (GKE's DCGM exporter, Argo's controller)
    rules: list[dict]  # PrometheusRule
    dashboards: list[dict]  # ConfigMaps the Grafana sidecar loads

    def all(self) -> list[dict]:
        return [self.namespace, *self.network_policies, *self.monitors, *self.rules, *self.dashboards]


def manifests(platform: Platform) -> MonitoringManifests:
    return MonitoringManifests(
        namespace=namespace(),
        network_policies=isolation.monitoring_network_policies(NAMESPACE)
        + ([adapter.api_server_policy()] if adapter.enabled(platform) else []),
        monitors=[scrape.kueue_service_monitor(), scrape.dcgm_pod_monitor()]
        + ([scrape.argo_pod_monitor()] if argo.enabled(platform) else []),
        rules=[rules.prometheus_rule(platform)],
        dashboards=dashboards.config_maps(platform),
    )
