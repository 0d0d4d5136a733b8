"""A kubeconfig for the new cluster, built from its outputs (never from the user's ambient config)."""

from __future__ import annotations

import json

import pulumi

from .cluster import GkeCluster


def kubeconfig(cluster: GkeCluster) -> pulumi.Output[str]:
    """Authenticates through gke-gcloud-auth-plugin, so no long-lived credential is stored."""

    def render(args: list[str]) -> str:
        name, endpoint, ca = args
        context = f"gke-{name}"
        return json.dumps({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "users": [{"name": context, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "gke-gcloud-auth-plugin",
                "provideClusterInfo": True,
                "installHint": "gcloud components install gke-gcloud-auth-plugin",
            }}}],
        })

    return pulumi.Output.secret(pulumi.Output.all(cluster.name, cluster.endpoint, cluster.ca_certificate).apply(render))
