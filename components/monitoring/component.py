"""The monitoring layer: kube-prometheus-stack pinned from its official repository, on the system pool,
plus the platform's monitors, alert rules and dashboards. Nothing on Kueue's or the teams' deploy path
depends on it."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.kubernetes.resources import apply
from components.model import Platform

from . import adapter, cloud, values
from .render import MonitoringManifests


class Monitoring(pulumi.ComponentResource):
    """Prometheus (HA, retention and disk from the model), Alertmanager, Grafana with a generated admin
    password, and the ServiceMonitor / PodMonitor / PrometheusRule / dashboard ConfigMaps."""

    grafana_password: pulumi.Output[str]

    def __init__(self, name: str, platform: Platform, objs: MonitoringManifests,
                 priorities: pulumi.Resource, webhook_url: Optional[pulumi.Output[str]],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("gpu-batch:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = apply(f"{name}-namespace", objs.namespace, child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        for policy in objs.network_policies:
            apply(f"{name}-networkpolicy-{policy['metadata']['name']}", policy, in_ns)
        rand = random.Provider(f"{name}-random", opts=child)
        password = random.RandomPassword(f"{name}-grafana-admin", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self, provider=rand))
        self.grafana_password = password.result
        admin = k8s.core.v1.Secret(
            f"{name}-grafana-admin", metadata={"name": values.GRAFANA_ADMIN_SECRET, "namespace": objs.namespace["metadata"]["name"]},
            string_data={"admin-user": "admin", "admin-password": password.result}, opts=in_ns)
        chart_deps: list[pulumi.Resource] = [ns, admin, priorities]
        if webhook_url is not None:
            chart_deps.append(k8s.core.v1.Secret(
                f"{name}-alert-webhook",
                metadata={"name": values.ALERT_WEBHOOK_SECRET, "namespace": objs.namespace["metadata"]["name"]},
                string_data={"url": webhook_url}, opts=in_ns))
        self.chart = k8s.helm.v4.Chart(
            f"{name}-stack",
            name=values.RELEASE,
            chart=values.CHART,
            version=values.CHART_VERSION,
            repository_opts={"repo": values.CHART_REPO},
            namespace=objs.namespace["metadata"]["name"],
            values=values.chart_values(platform, webhook=webhook_url is not None),
            # Its pods run at platform-services; the namespace is not Kueue-managed (see render.namespace).
            opts=pulumi.ResourceOptions(parent=self, depends_on=chart_deps),
        )
        # The monitors and rules are CRs of the chart's CRDs; dashboards are read by its Grafana sidecar.
        after_chart = pulumi.ResourceOptions(parent=self, depends_on=[ns, self.chart])
        for obj in objs.monitors + objs.rules + objs.dashboards:
            apply(f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}", obj, after_chart)
        if adapter.enabled(platform):
            # The model servers' autoscaling metric; it queries the Prometheus the chart above creates.
            k8s.helm.v4.Chart(
                f"{name}-metrics-adapter", name=adapter.RELEASE, chart=adapter.CHART, version=adapter.CHART_VERSION,
                repository_opts={"repo": adapter.CHART_REPO}, namespace=objs.namespace["metadata"]["name"],
                values=adapter.chart_values(platform),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, priorities, self.chart]))
        self.register_outputs({"chartVersion": values.CHART_VERSION, "grafanaService": values.GRAFANA_SERVICE})


class GpuCloudDashboard(pulumi.ComponentResource):
    """The Cloud Monitoring GPU dashboard of the reference, for this cluster."""

    def __init__(self, name: str, platform: Platform, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("gpu-batch:monitoring:GpuCloudDashboard", name, None, opts)
        self.dashboard = gcp.monitoring.Dashboard(
            f"{name}-gpu", dashboard_json=cloud.dashboard_json(platform),
            # Children do not inherit the component's depends_on: forward it (the Monitoring API must be on).
            opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None))
        self.register_outputs({"dashboard": self.dashboard.id})
