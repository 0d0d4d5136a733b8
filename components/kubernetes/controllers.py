"""Ports the installed controllers serve to the Kubernetes API server: the one place both the Kueue
Configuration (components/kubernetes/controller_config.py) and the control-plane firewall rule
(components/gcp/firewall.py) read, so the rule always opens exactly what the webhooks listen on.

Sources (the pinned charts):
* Kueue 0.19.2 `charts/kueue/templates/manager/manager.yaml`: container ports `visibility` 8082 and
  `webhook-server` 9443; `charts/kueue/values.yaml`: `webhook.port: 9443` in the manager config and
  `webhookService.ports[0].targetPort: 9443`; `templates/visibility/service.yaml`: targetPort 8082
  behind the `v1beta2.visibility.kueue.x-k8s.io` APIService (`apis/config/v1beta2/defaults.go`:
  DefaultVisibilityBindPort = 8082, fixed in the chart's Deployment).
* JobSet 0.12.0 `charts/jobset/templates/controller/deployment.yaml`: container port `webhook` 9443,
  which `templates/webhook/service.yaml` targets by name.
"""

KUEUE_WEBHOOK_PORT = 9443
KUEUE_VISIBILITY_PORT = 8082
JOBSET_WEBHOOK_PORT = 9443

# What the API server must reach on the nodes (pod IPs behind these Services), by who serves it.
API_SERVER_TARGETS = {
    "kueue-webhook": KUEUE_WEBHOOK_PORT,
    "kueue-visibility": KUEUE_VISIBILITY_PORT,
    "jobset-webhook": JOBSET_WEBHOOK_PORT,
}


def control_plane_ports() -> list[int]:
    """The distinct TCP ports the control plane must reach, sorted."""
    return sorted(set(API_SERVER_TARGETS.values()))
