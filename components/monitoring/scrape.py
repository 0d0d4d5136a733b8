"""What Prometheus scrapes beyond the chart's defaults: Kueue's controller, GKE's managed DCGM exporter and,
where a team has pipelines, Argo Workflows' controller.

Both monitors live in the monitoring namespace, so neither the Kueue chart nor anything on the
deploy path of Kueue and the teams needs the Prometheus Operator CRDs: monitoring is a layer on top.
"""

from __future__ import annotations

from components.kubernetes import argo
from components.kubernetes.render import KUEUE_NAMESPACE, MONITORING_NAMESPACE
from components.model.ha import ARGO_POD_LABELS

# GKE's managed DCGM (cluster monitoring component DCGM) runs NVIDIA's dcgm-exporter as a DaemonSet
# on GPU nodes in this namespace, port "metrics" (9400), and scrapes it with its own
# ClusterPodMonitoring for Cloud Monitoring (https://cloud.google.com/kubernetes-engine/docs/how-to/dcgm-metrics).
DCGM_NAMESPACE = "gke-managed-system"
DCGM_POD_LABELS = {"app.kubernetes.io/name": "gke-managed-dcgm-exporter"}


def kueue_service_monitor() -> dict:
    """Kueue's metrics Service, scraped as the chart's own monitor.yaml would (Kueue v0.19.2
    charts/kueue/templates/prometheus/monitor.yaml): HTTPS port `https`, the Prometheus service-account
    token as bearer (Kueue authorises `get /metrics`, which kube-prometheus-stack's Prometheus
    ClusterRole grants: templates/prometheus/clusterrole.yaml nonResourceURLs ["/metrics"]).

    honorLabels keeps Kueue's own `namespace` label on kueue_local_queue_* series (the team), instead
    of renaming it to exported_namespace under the target's kueue-system."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "kueue", "namespace": MONITORING_NAMESPACE},
        "spec": {
            "namespaceSelector": {"matchNames": [KUEUE_NAMESPACE]},
            # charts/kueue/templates/_helpers.tpl kueue.metricsService.labels
            "selector": {"matchLabels": {"app.kubernetes.io/name": "kueue",
                                         "app.kubernetes.io/component": "metrics-service"}},
            "endpoints": [{
                "port": "https",
                "path": "/metrics",
                "scheme": "https",
                "honorLabels": True,
                "bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
                # Kueue serves a self-signed certificate (internal cert management), as the chart's default.
                "tlsConfig": {"insecureSkipVerify": True},
            }],
        },
    }


def dcgm_pod_monitor() -> dict:
    """GKE's DCGM exporter pods. honorLabels keeps the exporter's pod/namespace/container labels, which
    name the workload the GPU is allocated to (empty for a free GPU, which then carries the exporter's
    own namespace); `node` is added so GPU series join kube_node_labels (pool, capacity)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "gke-managed-dcgm", "namespace": MONITORING_NAMESPACE},
        "spec": {
            "namespaceSelector": {"matchNames": [DCGM_NAMESPACE]},
            "selector": {"matchLabels": DCGM_POD_LABELS},
            "podMetricsEndpoints": [{
                "port": "metrics",
                "path": "/metrics",
                "interval": "30s",
                "honorLabels": True,
                "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node",
                                 "action": "replace"}],
            }],
        },
    }


def argo_pod_monitor() -> dict:
    """Every Argo workflow-controller pod (argo-helm argo-workflows-1.0.18 workflow-controller-deployment.yaml:
    container port `controller.metricsConfig.portName` "metrics", 9090; the chart's own metrics Service and
    ServiceMonitor are off by default). Argo v4.0.6 docs/metrics.md: metrics are on by default, served with a
    self-signed certificate (`secure`, ">= 3.6: default true"), and a controller that is not the leader
    returns empty metrics, so every replica is scraped and only the leader's series have values."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "argo-workflow-controller", "namespace": MONITORING_NAMESPACE},
        "spec": {
            "namespaceSelector": {"matchNames": [argo.NAMESPACE]},
            "selector": {"matchLabels": dict(ARGO_POD_LABELS["argo-workflow-controller"])},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "scheme": "https",
                                     "tlsConfig": {"insecureSkipVerify": True}}],
        },
    }
