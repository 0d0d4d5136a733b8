"""A fleet's MultiKueue objects (pure): on the manager the AdmissionCheck, the MultiKueueConfig, a
MultiKueueCluster and a kubeconfig Secret per worker; on a worker the manager's least-privilege identity.

Kueue v0.19.2 site/content/en/docs/tasks/manage/setup_multikueue.md and the files it includes
(site/static/examples/multikueue/multikueue-setup.yaml, create-multikueue-kubeconfig.sh) are the source
of each object's shape; tests/kubernetes/test_fleet.py restates them.
"""

from __future__ import annotations

from typing import Any

from components.model import Platform
from components.model import fleet
from components.model.fleet_schema import FleetWorker

from .render import KUEUE_API, KUEUE_NAMESPACE, meta

RBAC_API = "rbac.authorization.k8s.io/v1"
# The manager's rights on a worker: create, delete and watch the Workloads and the Jobs/JobSets it
# dispatches, sync their status, and read the queues. This is create-multikueue-kubeconfig.sh's
# ClusterRole (Kueue v0.19.2) cut to the kinds the platform runs (batch/Job, JobSet); its rules for
# pods, StatefulSets, LeaderWorkerSets, Kubeflow, Ray and AppWrapper are left out.
_DISPATCH = ["create", "delete", "get", "list", "watch"]
MANAGER_RULES = (
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _DISPATCH},
    {"apiGroups": ["batch"], "resources": ["jobs/status"], "verbs": ["get"]},
    {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets"], "verbs": _DISPATCH},
    {"apiGroups": ["jobset.x-k8s.io"], "resources": ["jobsets/status"], "verbs": ["get"]},
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads"], "verbs": [*_DISPATCH, "update", "patch"]},
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["clusterqueues", "localqueues"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads/status"], "verbs": ["get", "patch", "update"]},
)


def admission_check() -> dict:
    return {"apiVersion": KUEUE_API, "kind": "AdmissionCheck", "metadata": meta(fleet.ADMISSION_CHECK),
            "spec": {"controllerName": fleet.CONTROLLER_NAME,
                     "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "MultiKueueConfig", "name": fleet.CONFIG_NAME}}}


def multikueue_config(platform: Platform) -> dict:
    # The order is the preference: the Incremental dispatcher nominates clusters in `spec.clusters`
    # order (Kueue v0.19.2 apis/kueue/v1beta2/multikueue_types.go MultiKueueConfigSpec.Clusters).
    return {"apiVersion": KUEUE_API, "kind": "MultiKueueConfig", "metadata": meta(fleet.CONFIG_NAME),
            "spec": {"clusters": [w.name for w in platform.fleet.workers]}}


def multikueue_cluster(worker: FleetWorker) -> dict:
    return {"apiVersion": KUEUE_API, "kind": "MultiKueueCluster", "metadata": meta(worker.name),
            "spec": {"clusterSource": {"kubeConfig": {"locationType": "Secret",
                                                      "location": fleet.kubeconfig_secret(worker)}}}}


def kubeconfig_secret(worker: FleetWorker, kubeconfig: Any) -> dict:
    """In the namespace Kueue runs in, under the `kubeconfig` key (multikueue_types.go KubeConfig.Location)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": meta(fleet.kubeconfig_secret(worker), KUEUE_NAMESPACE),
            "stringData": {fleet.SECRET_KEY: kubeconfig}}


def manager_objects(platform: Platform, kubeconfigs: dict[str, Any]) -> list[dict]:
    """`kubeconfigs`: worker name -> its kubeconfig (the worker stack's output; a stand-in to validate)."""
    if fleet.role(platform) != "manager":
        return []
    workers = platform.fleet.workers
    return [*(kubeconfig_secret(w, kubeconfigs[w.name]) for w in workers), *(multikueue_cluster(w) for w in workers),
            multikueue_config(platform), admission_check()]


def worker_objects(platform: Platform) -> list[dict]:
    """The manager's identity on this worker and the long-lived token its kubeconfig carries."""
    if fleet.role(platform) != "worker":
        return []
    name = fleet.MANAGER_ACCOUNT
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, KUEUE_NAMESPACE)},
        {"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": meta(name), "rules": [dict(r) for r in MANAGER_RULES]},
        {"apiVersion": RBAC_API, "kind": "ClusterRoleBinding", "metadata": meta(name),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": KUEUE_NAMESPACE}]},
        # The script's token: a service-account-token Secret the token controller fills (and refills
        # when it is replaced, which is how the credential rotates: docs/operating.md).
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": meta(f"{name}-token", KUEUE_NAMESPACE, annotations={"kubernetes.io/service-account.name": name})},
    ]


def stand_in_kubeconfigs(platform: Platform) -> dict[str, str]:
    """What each worker's kubeconfig looks like before the worker stack has one, to validate the Secrets."""
    if fleet.role(platform) != "manager":
        return {}
    return {w.name: f"# kubeconfig of stack {w.stack}\n" for w in platform.fleet.workers}


def fleet_objects(platform: Platform, kubeconfigs: dict[str, Any]) -> list[dict]:
    return manager_objects(platform, kubeconfigs) + worker_objects(platform)
