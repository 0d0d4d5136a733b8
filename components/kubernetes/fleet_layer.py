"""A fleet's Kubernetes side (infra): the manager's MultiKueue objects with each worker's kubeconfig read
from the worker's own stack, or a worker's identity for its manager and the kubeconfig it exports.

One stack per cluster (docs/design.md "A fleet: one stack per cluster"): a worker's credential leaves its
stack only as a secret output, and the manager's stack reads it through a StackReference.
"""

from __future__ import annotations

import base64
import json
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.model import Platform, fleet

from . import multikueue
from .resources import BatchControllers, apply

KUBECONFIG_OUTPUT = "multikueueKubeconfig"  # the worker stack's export the manager reads


def worker_kubeconfig(cluster_name: str, endpoint: str, ca: str, token: str) -> str:
    """A bearer-token kubeconfig: MultiKueue refuses exec plugins, auth providers and token files (Kueue
    v0.19.2 pkg/controller/admissionchecks/multikueue/multikueuecluster.go, "exec plugins are not allowed"),
    so the GKE auth plugin kubeconfig the platform itself uses cannot be handed to the manager."""
    user = f"{cluster_name}-{fleet.MANAGER_ACCOUNT}"
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user}}],
        "current-context": cluster_name,
        "users": [{"name": user, "user": {"token": token}}],
    })


class FleetLink(pulumi.ComponentResource):
    """Manager: a kubeconfig Secret and MultiKueueCluster per worker, the MultiKueueConfig and the
    AdmissionCheck. Worker: the manager's ServiceAccount, ClusterRole, binding and token Secret."""

    token: Optional[pulumi.Output[str]] = None  # worker only: the manager's bearer token, a secret

    def __init__(self, name: str, platform: Platform, controllers: BatchControllers,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:k8s:FleetLink", name, None, opts)
        after_kueue = pulumi.ResourceOptions(parent=self, depends_on=[controllers.kueue])
        if fleet.role(platform) == "manager":
            self._manager(name, platform, after_kueue)
        elif fleet.role(platform) == "worker":
            self._worker(name, platform, after_kueue)
        self.register_outputs({})

    def _manager(self, name: str, platform: Platform, opts: pulumi.ResourceOptions) -> None:
        org, project = pulumi.get_organization() or "organization", pulumi.get_project()  # "organization": DIY backends
        kubeconfigs = {w.name: pulumi.Output.secret(pulumi.StackReference(
            f"{name}-{w.name}-stack", stack_name=f"{org}/{project}/{w.stack}", opts=pulumi.ResourceOptions(parent=self),
        ).require_output(KUBECONFIG_OUTPUT)) for w in platform.fleet.workers}
        objs = multikueue.manager_objects(platform, kubeconfigs)
        secrets = [o for o in objs if o["kind"] == "Secret"]
        created = [k8s.core.v1.Secret(f"{name}-{o['metadata']['name']}", metadata=o["metadata"], type=o["type"],
                                      string_data=o["stringData"], opts=opts) for o in secrets]
        after_secrets = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=created))
        for o in objs:
            if o["kind"] != "Secret":
                apply(f"{name}-{o['kind'].lower()}-{o['metadata']['name']}", o, after_secrets)

    def _worker(self, name: str, platform: Platform, opts: pulumi.ResourceOptions) -> None:
        account, role, binding, token = multikueue.worker_objects(platform)
        sa = k8s.core.v1.ServiceAccount(f"{name}-account", metadata=account["metadata"], opts=opts)
        k8s.rbac.v1.ClusterRole(f"{name}-role", metadata=role["metadata"], rules=role["rules"], opts=opts)
        k8s.rbac.v1.ClusterRoleBinding(f"{name}-binding", metadata=binding["metadata"], role_ref=binding["roleRef"],
                                       subjects=binding["subjects"], opts=opts)
        secret = k8s.core.v1.Secret(f"{name}-token", metadata=token["metadata"], type=token["type"],
                                    opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[sa])))
        # The token controller fills `data` after the create. pulumi-kubernetes waits for it: its Secret
        # awaiter (provider/pkg/await/awaiters.go untilCoreV1SecretInitialized, v4.32.0 and later) watches a
        # kubernetes.io/service-account-token Secret until its data map is non-empty, so the created Secret's
        # outputs carry the token, as the script's `kubectl get secret ... {.data['token']}` reads it.
        self.token = pulumi.Output.secret(secret.data.apply(bearer_token))


def bearer_token(data) -> str:
    """The token of a filled service-account-token Secret; an empty one is an error, never a kubeconfig."""
    token = base64.b64decode((data or {}).get("token", "")).decode()
    if not token:
        raise ValueError(f"the {fleet.MANAGER_ACCOUNT}-token Secret has no token: the token controller did not fill "
                         "it; run `pulumi up` again (the manager's kubeconfig is exported only with a token)")
    return token
