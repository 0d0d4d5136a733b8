"""kube-prometheus-stack: the pinned chart and its values, derived from the model (pure)."""

from __future__ import annotations

from components.kubernetes.render import TEAM_LABEL
from components.model import Platform, ha
from components.model.chart_overrides import CHARTS, with_overrides
from components.model.flavors import SYSTEM_POOL_LABELS
from components.model.images import pinned
from components.model.priorities import PLATFORM_SERVICES

from . import multikueue
from .promql import ksm_label, node_label_keys

# Official chart repository of the prometheus-community charts (charts/kube-prometheus-stack/README.md).
CHART = "kube-prometheus-stack"
CHART_REPO = "https://prometheus-community.github.io/helm-charts"
# 88.5.3 = Prometheus Operator v0.93.1; its CRD schemas are vendored in platform/schemas/monitoring.
CHART_VERSION = CHARTS["monitoring"].version
RELEASE = "monitoring"
FULLNAME = "kps"  # resource name stem: kps-prometheus, kps-operator, kps-alertmanager
GRAFANA_SERVICE = "grafana"
GRAFANA_ADMIN_SECRET = "grafana-admin"
ALERT_WEBHOOK_SECRET = "alert-webhook"
# Every controller of the platform runs at this PriorityClass (components/model/priorities.py).
PRIORITY = PLATFORM_SERVICES
# The Grafana sidecar loads every ConfigMap with this label as a dashboard (chart grafana.sidecar.dashboards).
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
GKE_ABSENT_COMPONENTS = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy", "coreDns")
GKE_ABSENT_RULES = ("etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording", "kubeProxy")


def _on_system_pool() -> dict:
    # No tolerations at all: nothing here can land on a GPU node, so GPU pools still scale to zero.
    return {"nodeSelector": dict(SYSTEM_POOL_LABELS), "tolerations": []}


def alertmanager_config(webhook: bool) -> dict:
    """Without a receiver, alerts are only visible in Alertmanager (and Grafana); with one, every alert
    goes to the webhook. The URL is read from a mounted Secret (url_file), never from chart values."""
    receivers: list[dict] = [{"name": "alertmanager-only"}]
    receiver = "alertmanager-only"
    if webhook:
        receivers.append({"name": "platform-webhook", "webhook_configs": [{
            "url_file": f"/etc/alertmanager/secrets/{ALERT_WEBHOOK_SECRET}/url", "send_resolved": True}]})
        receiver = "platform-webhook"
    return {
        "route": {"receiver": receiver, "group_by": ["alertname", "namespace", "cluster_queue"],
                  "group_wait": "1m", "group_interval": "5m", "repeat_interval": "4h",
                  # kube-prometheus-stack's always-firing heartbeat would page every 4h otherwise.
                  "routes": [{"receiver": "alertmanager-only", "matchers": ['alertname = "Watchdog"']}]},
        "receivers": receivers,
    }


def chart_values(platform: Platform, webhook: bool = False) -> dict:
    """The chart's values: the model's, then the stack's charts.monitoring.values override merged over them."""
    return with_overrides("monitoring", pinned(CHART, _model_values(platform, webhook)),
                          platform.charts.monitoring.values)


def _model_values(platform: Platform, webhook: bool) -> dict:
    m = platform.monitoring
    pinned = _on_system_pool()
    return {
        "fullnameOverride": FULLNAME,
        "prometheusOperator": {
            **pinned,
            "priorityClassName": PRIORITY,
            # helm.v4.Chart never applies helm.sh/hook resources, and only the chart's hook Job (or
            # cert-manager) creates the `<fullname>-admission` certificate Secret. So the admission webhooks
            # stay off (rules are validated offline: schema + promtool), and so does the operator's TLS
            # listener: with tls.enabled the operator Deployment mounts that Secret (no `optional`) and its
            # pod never starts. Off, the chart serves plain HTTP on 8080 (deployment.yaml, service.yaml,
            # servicemonitor.yaml); platform/charts/hook-audit.yaml records every such branch.
            "tls": {"enabled": False},
            "admissionWebhooks": {"enabled": False, "patch": {"enabled": False}},
        },
        "prometheus": {"podDisruptionBudget": ha.disruption_budget(ha.controller(platform, "prometheus")), "prometheusSpec": {
            **pinned,
            "priorityClassName": PRIORITY,
            "replicas": m.prometheus_replicas,
            # Spread and disruption budget (kube-prometheus-stack 88.5.3 values) from the platform's HA
            # model (components/model/ha.py); the chart's own soft anti-affinity is replaced by the spread.
            "podAntiAffinity": "",
            "topologySpreadConstraints": ha.topology_spread(ha.controller(platform, "prometheus")),
            "retention": f"{m.retention_days}d",
            # Drop old blocks before the disk fills (90 %), whatever the ingest rate.
            "retentionSize": f"{m.volume_gb * 9 // 10}GB",
            "storageSpec": {"volumeClaimTemplate": {"spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{m.volume_gb}Gi"}}}}},
            # Select every ServiceMonitor/PodMonitor/PrometheusRule, not only the release's own.
            "serviceMonitorSelectorNilUsesHelmValues": False,
            "podMonitorSelectorNilUsesHelmValues": False,
            "ruleSelectorNilUsesHelmValues": False,
        }},
        "alertmanager": {
            "podDisruptionBudget": ha.disruption_budget(ha.controller(platform, "alertmanager")),
            "config": alertmanager_config(webhook),
            "alertmanagerSpec": {
                **pinned,
                "priorityClassName": PRIORITY,
                "replicas": m.alertmanager_replicas,
                "podAntiAffinity": "",
                "topologySpreadConstraints": ha.topology_spread(ha.controller(platform, "alertmanager")),
                "secrets": [ALERT_WEBHOOK_SECRET] if webhook else [],
            },
        },
        "grafana": {
            **pinned,
            "fullnameOverride": GRAFANA_SERVICE,
            "priorityClassName": PRIORITY,
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1"}},
        },
        "kube-state-metrics": {
            **pinned,
            "priorityClassName": PRIORITY,
            # kube_node_labels carries only allowlisted node labels; the dashboards select pools by these.
            "metricLabelsAllowlist": [f"nodes=[{','.join(node_label_keys(platform))}]", f"namespaces=[{TEAM_LABEL}]"],
            **multikueue.ksm_values(platform),  # a fleet manager: its workers' connection as a metric
        },
        # node-exporter defaults to tolerating every NoSchedule taint; here it covers the system pool only.
        "prometheus-node-exporter": {**pinned, "priorityClassName": PRIORITY},
        # GKE runs the control plane (no scrapable kube-controller-manager, kube-scheduler or etcd in the
        # cluster) and Dataplane V2 replaces kube-proxy; GKE's DNS is kube-dns, not CoreDNS. Left on,
        # their targets never come up and KubeControllerManagerDown & co. would fire forever.
        **{c: {"enabled": False} for c in GKE_ABSENT_COMPONENTS},
        "defaultRules": {"rules": {r: False for r in GKE_ABSENT_RULES}},
    }


def allowlisted_node_labels(platform: Platform) -> list[str]:
    """The kube_node_labels label names the allowlist produces (what dashboards may select on)."""
    return [ksm_label(k) for k in node_label_keys(platform)]
