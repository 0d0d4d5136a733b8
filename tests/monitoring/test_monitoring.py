"""The monitoring layer as the cluster would see it: placement, ordering, access, routing, validation."""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml

from components.kubernetes import render as k8s_render
from components.kubernetes.controller_config import kueue_manager_config
from components.kubernetes.manifest_validation import is_validated, problems
from components.model import ConfigError, flavors, parse_platform
from components.model.flavors import SYSTEM_POOL_LABELS
from components.monitoring import dashboards, render, values
from components.monitoring.layer import build_monitoring, validate_monitoring
from components.capture import PROJECT, REPO, Capture, run_stack
from components.plan import kubernetes_object
from conftest import assert_issue, capture_of, config_error, config_with, load_dev_platform_raw

CHART = "kubernetes:helm.sh/v4:Chart"
MONITORING = "gpu-batch:monitoring:Monitoring"


def _platform():
    return parse_platform(load_dev_platform_raw())


def _tolerates(toleration: dict, taint) -> bool:
    """Kubernetes toleration matching (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/):
    an empty key with Exists tolerates everything; effect empty matches every effect."""
    if toleration.get("effect") and toleration["effect"] != taint.effect:
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.key
    return toleration.get("key") == taint.key and toleration.get("value", "") == taint.value


def _walk(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


def _chart(capture):
    return next(r for r in capture.of_type(CHART) if r.inputs["chart"] == values.CHART)


def test_chart_is_pinned_from_the_official_repository(dev_capture):
    """prometheus-community charts/kube-prometheus-stack/README.md: repository
    https://prometheus-community.github.io/helm-charts, chart kube-prometheus-stack; 88.5.3 ships
    Prometheus Operator v0.93.1, whose CRDs are vendored in platform/schemas/monitoring."""
    chart = _chart(dev_capture)
    assert chart.inputs["version"] == "88.5.3"
    assert chart.inputs["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    assert chart.inputs["namespace"] == "monitoring"
    index = json.loads((REPO / "platform" / "schemas" / "index.json").read_text())
    sources = {e["kind"]: e["source"]["tag"] for e in index["schemas"] if e["group"] == "monitoring.coreos.com"}
    assert sources == {k: f"kube-prometheus-stack-{chart.inputs['version']}" for k in ("PrometheusRule", "ServiceMonitor", "PodMonitor")}


def test_everything_runs_on_the_system_pool_and_tolerates_no_gpu_taint(dev_capture):
    """GPU pools must scale to zero: nothing the monitoring adds may be schedulable on a GPU node.
    prometheus-node-exporter 4.56.1 values.yaml defaults to `tolerations: [{effect: NoSchedule,
    operator: Exists}]` (every NoSchedule taint, GPU ones included), so it is overridden."""
    vals = _chart(dev_capture).inputs["values"]
    for component in ("prometheusOperator", "grafana", "kube-state-metrics", "prometheus-node-exporter"):
        assert vals[component]["nodeSelector"] == SYSTEM_POOL_LABELS and vals[component]["tolerations"] == []
    for spec in (vals["prometheus"]["prometheusSpec"], vals["alertmanager"]["alertmanagerSpec"]):
        assert spec["nodeSelector"] == SYSTEM_POOL_LABELS and spec["tolerations"] == []
    taints = {t for f in flavors(_platform()).values() for t in f.node_taints}
    for tolerations in _walk(vals, "tolerations"):
        assert not [(t, taint) for t in tolerations for taint in taints if _tolerates(t, taint)]
    # The harness can fail: the chart's own node-exporter default tolerates the GPU taint.
    assert any(_tolerates({"effect": "NoSchedule", "operator": "Exists"}, t) for t in taints)


def test_monitoring_namespace_is_outside_kueue_job_webhook():
    """Kueue's Job webhook is fail-closed; the chart installs its Job webhook with the config's
    managedJobsNamespaceSelector (kubernetes-sigs/kueue v0.19.2 `charts/kueue/templates/webhook/manifests.yaml`;
    it blocked kube-prometheus-stack's hook Jobs, kubernetes-sigs/kueue#5244). The monitoring namespace must not
    match that selector."""
    selector = kueue_manager_config(_platform())["managedJobsNamespaceSelector"]["matchLabels"]
    labels = {**render.namespace()["metadata"]["labels"], "kubernetes.io/metadata.name": "monitoring"}
    assert not all(labels.get(k) == v for k, v in selector.items())
    assert render.namespace()["metadata"]["name"] == k8s_render.MONITORING_NAMESPACE


def test_nothing_of_kueue_or_the_teams_waits_for_monitoring(dev_capture):
    """Monitoring is a layer on top: no resource outside it depends on it, and its chart does not wait
    for Kueue (it needs only the namespace, its admin Secret and the platform-services PriorityClass)."""
    by_urn = dev_capture.by_urn()
    root = next(r for r in dev_capture.resources if r.type == MONITORING)
    inside = {root.urn}
    for r in dev_capture.resources:  # registration order: a parent comes before its children
        if r.parent in inside:
            inside.add(r.urn)
    outside = [r for r in dev_capture.resources if r.urn not in inside]
    assert not [r.name for r in outside if set(r.dependencies) & inside]
    chart_deps = {by_urn[d].type for d in _chart(dev_capture).dependencies}
    # depends_on a component expands to its children: the PriorityClasses.
    assert chart_deps == {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:Secret", "kubernetes:scheduling.k8s.io/v1:PriorityClass"}


def test_grafana_password_is_generated_and_exported_as_a_secret(dev_capture):
    """No default credentials (the reference used admin/admin): a RandomPassword feeds the Secret the
    Grafana chart reads through admin.existingSecret, and the stack output is a secret."""
    password = dev_capture.of_type("random:index/randomPassword:RandomPassword")
    assert len(password) == 1 and password[0].inputs["length"] >= 32
    assert password[0].provider, "explicit random provider"
    secret = dev_capture.named("monitoring-grafana-admin", "kubernetes:core/v1:Secret")
    assert password[0].urn in secret.dependencies
    admin = _chart(dev_capture).inputs["values"]["grafana"]["admin"]
    assert admin["existingSecret"] == secret.inputs["metadata"]["name"]
    assert "adminPassword" not in _chart(dev_capture).inputs["values"]["grafana"]
    assert dev_capture.stack_outputs["grafanaAdminPassword"] == "mock-password"
    assert "port-forward svc/grafana" in dev_capture.stack_outputs["grafanaPortForward"]
    assert _chart(dev_capture).inputs["values"]["grafana"]["service"] == {"type": "ClusterIP"}


def test_alerts_stay_in_alertmanager_without_a_receiver(dev_capture):
    config = _chart(dev_capture).inputs["values"]["alertmanager"]["config"]
    assert config["route"]["receiver"] == "alertmanager-only"
    assert all("webhook_configs" not in r for r in config["receivers"])
    assert not [r for r in dev_capture.of_type("kubernetes:core/v1:Secret") if r.name.endswith("alert-webhook")]


def test_a_webhook_receiver_from_stack_config_gets_every_alert():
    """`pulumi config set --secret alertWebhookUrl <url>`: the URL travels in a Secret that Alertmanager
    mounts (alertmanagerSpec.secrets -> /etc/alertmanager/secrets/<name>/) and reads with url_file, so
    it never appears in chart values."""
    config = config_with()
    # A secret as the stack file holds it; offline runs cannot decrypt, so the ciphertext field is the value.
    config[f"{PROJECT}:alertWebhookUrl"] = {"secure": "https://hooks.example.com/alerts"}
    capture = capture_of(config)
    vals = _chart(capture).inputs["values"]["alertmanager"]
    assert vals["config"]["route"]["receiver"] == "platform-webhook"
    hook = next(r for r in vals["config"]["receivers"] if r["name"] == "platform-webhook")["webhook_configs"][0]
    assert hook["url_file"] == f"/etc/alertmanager/secrets/{values.ALERT_WEBHOOK_SECRET}/url"
    assert vals["alertmanagerSpec"]["secrets"] == [values.ALERT_WEBHOOK_SECRET]
    secret = capture.named("monitoring-alert-webhook", "kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == {"url": "https://hooks.example.com/alerts"}
    assert "hooks.example.com" not in json.dumps(_chart(capture).inputs["values"])


def test_a_plaintext_webhook_url_is_refused_before_anything_exists():
    config = config_with()
    config[f"{PROJECT}:alertWebhookUrl"] = "https://hooks.example.com/alerts?token=abc"
    capture = Capture(stack="dev")
    try:
        with pytest.raises(ConfigError) as info:
            run_stack("dev", config=config, capture=capture)
    finally:
        pulumi.runtime.set_all_config({})  # later tests read the runtime's config without running a stack
    assert info.value.paths() == [f"{PROJECT}:alertWebhookUrl"]
    assert "pulumi config set --secret alertWebhookUrl" in str(info.value)
    assert not [r for r in capture.resources if r.custom]


def test_retention_volume_and_replicas_come_from_the_model():
    raw = load_dev_platform_raw()
    raw["monitoring"] = {"retentionDays": 30, "volumeGb": 200, "prometheusReplicas": 3, "alertmanagerReplicas": 1}
    raw["cluster"]["systemPool"]["minNodes"] = 3  # three replicas spread over distinct nodes (model/ha.py)
    vals = values.chart_values(parse_platform(raw))
    spec = vals["prometheus"]["prometheusSpec"]
    assert (spec["retention"], spec["retentionSize"], spec["replicas"]) == ("30d", "180GB", 3)
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert vals["alertmanager"]["alertmanagerSpec"]["replicas"] == 1


def test_bad_monitoring_config_names_the_path(assert_issue):
    raw = load_dev_platform_raw()
    raw["monitoring"] = {"prometheusReplicas": 9, "retention": "15d", "pendingMinutes": {"urgent": 5}}
    err = config_error(raw)
    assert_issue(err, "monitoring.retention", "unknown key")
    assert_issue(err, "monitoring.pendingMinutes.urgent", "unknown key")
    raw["monitoring"] = {"prometheusReplicas": 4}
    raw["cluster"]["systemPool"]["maxNodes"] = 3
    assert_issue(config_error(raw), "monitoring.prometheusReplicas", "at most 3 node(s)", fix="lower it to 3")


def test_monitoring_can_be_switched_off():
    raw = load_dev_platform_raw()
    raw["monitoring"] = {"enabled": False}
    assert_issue(config_error(raw), "teams[2].serving", "monitoring is off")  # its autoscaler reads Prometheus
    del raw["teams"][2]["serving"]
    platform = parse_platform(raw)
    validate_monitoring(platform)
    # Returns before touching the Kubernetes layer or registering anything.
    assert build_monitoring(platform, kubernetes=None, on_gcp=None) is None


def test_every_monitoring_object_is_validated_against_its_schema(dev_capture):
    """ServiceMonitor / PodMonitor / PrometheusRule against the vendored Prometheus Operator v0.93.1 CRD
    schemas (closed to unknown fields, as the API server prunes them); the rest via kubernetes-validate."""
    applied = [kubernetes_object(r) for r in dev_capture.resources
               if r.parent and r.type.startswith("kubernetes:") and r.type != CHART and "monitoring" in r.name]
    applied = [o for o in applied if o]
    kinds = {o["kind"] for o in applied}
    assert {"ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap", "Namespace", "Secret"} <= kinds
    for obj in applied:
        assert is_validated(obj), obj["kind"]
        assert problems(obj) == [], obj["kind"]
    typo = yaml.safe_load(yaml.safe_dump(render.manifests(_platform()).monitors[0]))
    typo["spec"]["endpoints"][0]["bearerTokenFiel"] = "x"
    assert any("bearerTokenFiel" in p for p in problems(typo))


def test_dashboards_use_the_datasource_variable_and_the_sidecar_label():
    """The chart's Grafana sidecar loads ConfigMaps labelled grafana_dashboard="1" (kube-prometheus-stack
    values.yaml grafana.sidecar.dashboards.label/labelValue); the datasource is a variable, never a uid."""
    platform = _platform()
    sidecar = values.chart_values(platform)["grafana"]["sidecar"]["dashboards"]
    for cm in dashboards.config_maps(platform):
        assert cm["metadata"]["labels"] == {sidecar["label"]: sidecar["labelValue"]}
        board = json.loads(next(iter(cm["data"].values())))
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] == "${datasource}"
    assert len(dashboards.dashboards(platform)) == 3


def test_cloud_monitoring_gpu_dashboard(dev_capture):
    """The reference's 'NVIDIA GPU Monitoring Overview' as a gcp.monitoring.Dashboard: GPU count,
    utilisation and memory from GKE's kubernetes.io/node/accelerator/{duty_cycle,memory_used,memory_total}
    (Cloud Monitoring, Kubernetes metrics list), scoped to this cluster."""
    dashboard = dev_capture.of_type("gcp:monitoring/dashboard:Dashboard")
    assert len(dashboard) == 1 and dashboard[0].provider
    body = json.loads(dashboard[0].inputs["dashboardJson"])
    queries = [t["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["prometheusQuery"] for t in body["mosaicLayout"]["tiles"]]
    text = " ".join(queries)
    for metric in ("node_accelerator_duty_cycle", "node_accelerator_memory_used", "node_accelerator_memory_total"):
        assert f"kubernetes_io:{metric}" in text
    assert all('cluster_name="batch-dev"' in q for q in queries)
    assert any(q.startswith("count by (model)") for q in queries)


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PodMonitor"])
def test_monitors_keep_the_exporters_namespace_and_pod_labels(kind):
    """With honorLabels false Prometheus renames a scraped `namespace`/`pod` that clashes with the
    target's to exported_namespace/exported_pod (Prometheus scrape_config honor_labels); Kueue's
    LocalQueue metrics and dcgm-exporter's pod attribution need their own values kept."""
    monitor = next(m for m in render.manifests(_platform()).monitors if m["kind"] == kind)
    endpoints = monitor["spec"].get("endpoints") or monitor["spec"]["podMetricsEndpoints"]
    assert all(e["honorLabels"] for e in endpoints)


def test_kueue_service_monitor_selects_the_charts_metrics_service():
    """Kueue v0.19.2 charts/kueue/templates/manager/auth_proxy_service.yaml: Service
    `<fullname>-controller-manager-metrics-service` in the release namespace, labels from
    kueue.metricsService.labels (`app.kubernetes.io/name: kueue`, `app.kubernetes.io/component:
    metrics-service`, `control-plane: controller-manager`, ...), port `https` 8443 (values.yaml
    metricsService.ports); the controller serves HTTPS with authn/authz (cmd/kueue/main.go)."""
    chart_service_labels = {"app.kubernetes.io/name": "kueue", "app.kubernetes.io/component": "metrics-service",
                            "control-plane": "controller-manager", "app.kubernetes.io/managed-by": "Helm"}
    monitor = render.manifests(_platform()).monitors[0]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert all(chart_service_labels.get(k) == v for k, v in selector.items())
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [k8s_render.KUEUE_NAMESPACE]}
    endpoint = monitor["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["scheme"]) == ("https", "https")
    # The webhook Service (same chart) carries other labels and must not be scraped.
    webhook_service_labels = {"app.kubernetes.io/name": "kueue", "control-plane": "controller-manager"}
    assert not all(webhook_service_labels.get(k) == v for k, v in selector.items())


def test_components_gke_does_not_run_in_cluster_are_not_scraped(dev_capture):
    """GKE manages the control plane: kube-controller-manager, kube-scheduler and etcd are not pods
    Prometheus can reach (GKE docs, "GKE cluster architecture": the control plane is managed by Google);
    with Dataplane V2 (datapath_provider ADVANCED_DATAPATH, set by components/gcp/cluster.py) there is
    no kube-proxy ("About GKE Dataplane V2"); GKE's DNS is kube-dns. kube-prometheus-stack enables
    their ServiceMonitors and alerts by default (values.yaml kubeControllerManager/kubeScheduler/
    kubeEtcd/kubeProxy/coreDns.enabled: true, defaultRules.rules.*: true), which would fire forever."""
    vals = _chart(dev_capture).inputs["values"]
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy", "coreDns"):
        assert vals[component] == {"enabled": False}, component
    assert all(not on for on in vals["defaultRules"]["rules"].values())
    assert {"etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeProxy"} <= set(vals["defaultRules"]["rules"])
    cluster = dev_capture.of_type("gcp:container/cluster:Cluster")[0]
    assert cluster.inputs["datapathProvider"] == "ADVANCED_DATAPATH"


def test_a_new_pool_appears_in_the_dashboards_by_its_own_labels():
    """Pools are selected by the node labels the model gives them (kube_node_labels, allowlisted in
    kube-state-metrics), so a new pool needs no dashboard edit and its label key is allowlisted."""
    raw = load_dev_platform_raw()
    raw["gpuPools"].append({"name": "h100-spot", "machineType": "a3-highgpu-8g", "provisioning": "spot", "maxNodes": 2,
                            "accelerator": {"type": "nvidia-h100-80gb", "count": 8}})
    platform = parse_platform(raw)
    boards = dashboards.dashboards(platform)
    exprs = [e for b in boards.values() for _, e in dashboards.panel_queries(b)]
    assert sum('label_batch_platform_flavor="h100-spot"' in e for e in exprs) == 3  # nodes, GPU util, GPU memory
    legends = [t["legendFormat"] for p in boards["gpu-platform-overview"]["panels"] if p.get("title") == "Nodes per pool"
               for t in p["targets"]]
    assert "h100-spot" in legends
    allow = values.chart_values(platform)["kube-state-metrics"]["metricLabelsAllowlist"][0]
    assert "batch-platform/flavor" in allow and "cloud.google.com/gke-accelerator" in allow
