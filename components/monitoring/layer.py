"""The monitoring layer on top of the Kubernetes layer: validated first, then created."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import is_config_secret

from components.kubernetes.layer import KubernetesLayer
from components.kubernetes.manifest_validation import validate_all
from components.model import ConfigError, Issue, Platform

from . import render
from .component import GpuCloudDashboard, Monitoring
from .values import GRAFANA_SERVICE

WEBHOOK_CONFIG_KEY = "alertWebhookUrl"


def validate_monitoring(platform: Platform) -> None:
    """Every monitoring object checked against its schema before anything exists (ManifestError), and
    the alert webhook URL (it carries the receiver's token) only as a Pulumi secret (ConfigError)."""
    config = pulumi.Config()
    key = config.full_key(WEBHOOK_CONFIG_KEY)
    if config.get(WEBHOOK_CONFIG_KEY) is not None and not is_config_secret(key):
        raise ConfigError([Issue(key, "the alert webhook URL is stored in plaintext in the stack file and the Pulumi "
                                 "state (a webhook URL carries its token)",
                                 f"pulumi config set --secret {WEBHOOK_CONFIG_KEY} <url>")], "stack config")
    if platform.monitoring.enabled:
        validate_all(render.manifests(platform).all())


def build_monitoring(platform: Platform, kubernetes: KubernetesLayer, on_gcp: pulumi.ResourceOptions) -> None:
    if not platform.monitoring.enabled:
        return
    # Optional receiver: `pulumi config set --secret alertWebhookUrl https://...`; unset = Alertmanager only.
    webhook = pulumi.Config().get_secret(WEBHOOK_CONFIG_KEY)
    monitoring = Monitoring("monitoring", platform, render.manifests(platform), kubernetes.priorities, webhook,
                            pulumi.ResourceOptions(providers=[kubernetes.provider]))
    GpuCloudDashboard("gpu-dashboard", platform, on_gcp)
    pulumi.export("grafanaAdminPassword", pulumi.Output.secret(monitoring.grafana_password))
    pulumi.export("grafanaPortForward", f"kubectl -n {render.NAMESPACE} port-forward svc/{GRAFANA_SERVICE} 3000:80")
