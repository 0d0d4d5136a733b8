"""The custom metrics pipeline of the model servers' autoscalers: prometheus-adapter, pinned, in the
monitoring namespace, serving `custom.metrics.k8s.io` from the platform's Prometheus (pure).

Installed when monitoring is on and a team runs a model server (components/workloads/serving.py). One
rule (kubernetes-sigs/prometheus-adapter v0.12.0 docs/config.md, "Discovery", "Association",
"Naming", "Querying"): the DCGM exporter's GPU duty cycle, whose `namespace`/`pod` labels name the pod
using the GPU (the PodMonitor keeps them, honorLabels), becomes the pods metric `gpu_duty_cycle`; for
an HPA's request the adapter fills `<<.LabelMatchers>>` with `pod=~"a|b",namespace="ns"` and
`<<.GroupBy>>` with `pod`, so each replica gets the mean duty cycle of its GPUs.

Chart facts (prometheus-community/helm-charts@prometheus-adapter-5.3.0, charts/prometheus-adapter):
templates/custom-metrics-apiservice.yaml renders the APIService only when `rules.default` or
`rules.custom` is set, with `insecureSkipTLSVerify: true` unless tls/cert-manager is on (the adapter
then serves a self-signed cert it writes under `--cert-dir=/tmp/cert`, an emptyDir); the Deployment
listens on `listenPort` (6443), which the API server must reach (firewall and NetworkPolicy).
"""

from __future__ import annotations

from components.kubernetes.render import MONITORING_NAMESPACE
from components.model import Platform
from components.model.flavors import SYSTEM_POOL_LABELS
from components.model.images import pinned
from components.model.priorities import PLATFORM_SERVICES
from components.model.serving import SERVING_METRIC

from . import values as kps

CHART = "prometheus-adapter"
CHART_VERSION = "5.3.0"  # appVersion v0.12.0
CHART_REPO = kps.CHART_REPO  # the prometheus-community repository, like kube-prometheus-stack
RELEASE = "metrics-adapter"
LISTEN_PORT = 6443  # values.yaml listenPort: the port the API server calls
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
PROMETHEUS_URL = f"http://{kps.FULLNAME}-prometheus.{MONITORING_NAMESPACE}.svc"
PROMETHEUS_PORT = 9090

RULE = {
    "seriesQuery": f'{GPU_UTIL}{{namespace!="",pod!=""}}',
    "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
    "name": {"matches": f"^{GPU_UTIL}$", "as": SERVING_METRIC},
    "metricsQuery": "avg by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})",
}


def enabled(platform: Platform) -> bool:
    return platform.monitoring.enabled and any(t.serving for t in platform.teams)


def chart_values(platform: Platform) -> dict:
    replicas = platform.controllers.replicas
    return pinned(CHART, {
        "prometheus": {"url": PROMETHEUS_URL, "port": PROMETHEUS_PORT},
        "listenPort": LISTEN_PORT,
        # Only the serving rule: the chart's defaults would also serve every cAdvisor series as a metric.
        "rules": {"default": False, "custom": [RULE]},
        "replicas": replicas,
        # Above one replica, keep one serving: every HPA of the cluster reads its metric through it.
        "podDisruptionBudget": {"enabled": replicas > 1, "maxUnavailable": 1},
        "priorityClassName": PLATFORM_SERVICES,
        "nodeSelector": dict(SYSTEM_POOL_LABELS),
        "tolerations": [],
    })


# The chart's selector labels (templates/_helpers.tpl k8s-prometheus-adapter.selectorLabels).
POD_LABELS = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE}


def api_server_policy() -> dict:
    """Ingress to the adapter from the API server (the APIService's backend). Like the controllers'
    webhook ports (components/kubernetes/isolation.py system_network_policies) it names no source: the
    API server arrives from the control-plane range, or through the Konnectivity agents' pods."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-api-server-metrics-adapter", "namespace": MONITORING_NAMESPACE},
            "spec": {"podSelector": {"matchLabels": dict(POD_LABELS)}, "policyTypes": ["Ingress"],
                     "ingress": [{"ports": [{"protocol": "TCP", "port": LISTEN_PORT}]}]}}


def metrics_query(series: str, namespace: str, pods: list[str]) -> str:
    """RULE's metricsQuery as the adapter renders it for an HPA's pods request (docs/config.md
    "Querying": `LabelMatchers: "pod=~\\"pod1|pod2",namespace="somens"`, `GroupBy`: `pod`)."""
    matchers = f'pod=~"{"|".join(pods)}",namespace="{namespace}"'
    return (RULE["metricsQuery"].replace("<<.GroupBy>>", "pod").replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", matchers))
