"""The Kueue and JobSet controllers' chart values: the complete Kueue Configuration, replicas, spread,
disruption budgets and placement on the system pool (pure; the model in, plain dicts out)."""

from __future__ import annotations

import yaml

from components.model import Platform, fleet, ha
from components.model.chart_overrides import with_overrides
from components.model.flavors import SYSTEM_POOL_LABELS
from components.model.images import pinned
from components.model.priorities import PLATFORM_SERVICES

from . import controllers
from .render import KUEUE_METRICS_PORT, MANAGED_LABEL


# Kueue v0.19.2 charts/kueue/templates/webhook/manifests.yaml; pkg/controller/jobs/deployment.
KUEUE_FRAMEWORKS = ("batch/job", "jobset.x-k8s.io/jobset", "pod", "deployment")


def kueue_manager_config(platform: Platform) -> dict:
    """The complete Kueue Configuration (the chart value replaces the default wholesale)."""
    timeout = f"{platform.kueue.pods_ready_timeout_minutes}m"
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": f":{KUEUE_METRICS_PORT}", "enableClusterQueueResources": True},
        "webhook": {"port": controllers.KUEUE_WEBHOOK_PORT},
        # The chart's Deployment and visibility Service fix 8082; stated here so the firewall reads the same constant.
        "visibilityServer": {"bindPort": controllers.KUEUE_VISIBILITY_PORT},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "controller": {"groupKindConcurrency": {
            "Job.batch": 5, "Workload.kueue.x-k8s.io": 10, "LocalQueue.kueue.x-k8s.io": 5,
            "ClusterQueue.kueue.x-k8s.io": 5, "ResourceFlavor.kueue.x-k8s.io": 1}},
        "clientConnection": {"qps": 50, "burst": 100},
        # In team namespaces a Job without a queue is held, so nothing bypasses quota.
        "manageJobsWithoutQueueName": True,
        "managedJobsNamespaceSelector": {"matchLabels": {MANAGED_LABEL: "true"}},
        "waitForPodsReady": {
            "timeout": timeout,
            "recoveryTimeout": timeout,
            "blockAdmission": False,
            "requeuingStrategy": {"timestamp": "Eviction", "backoffBaseSeconds": 60,
                                  "backoffMaxSeconds": 3600, "backoffLimitCount": 10},
        },
        # `deployment` admits model servers pod by pod through the `pod` integration. `pod` is listed too:
        # the chart renders the pod webhooks failurePolicy Fail only when `pod` is in this list (Ignore
        # otherwise: a pod created while Kueue is down would start ungated, outside quota). Their
        # namespaceSelector is managedJobsNamespaceSelector, so fail-closed covers team namespaces only.
        "integrations": {"frameworks": list(KUEUE_FRAMEWORKS)},
        **_multikueue(platform),
    }


def _multikueue(platform: Platform) -> dict:
    """A fleet manager's `multiKueue` block (Kueue v0.19.2 apis/config/v1beta2/configuration_types.go MultiKueue)."""
    if fleet.role(platform) != "manager":
        return {}
    return {"multiKueue": {
        # The garbage collector deletes remote objects carrying this origin whose local object is gone, so
        # each manager sharing a worker needs its own (the default is "multikueue" for every manager).
        "origin": platform.name_prefix,
        "workerLostTimeout": f"{platform.fleet.worker_lost_timeout_minutes}m",
        "dispatcherName": fleet.DISPATCHERS[platform.fleet.dispatcher],
    }}


def kueue_values(platform: Platform) -> dict:
    """The chart's values: the model's, then the stack's charts.kueue.values override merged over them."""
    return with_overrides("kueue", pinned("kueue", _kueue_values(platform)), platform.charts.kueue.values)


def _kueue_values(platform: Platform) -> dict:
    kueue = ha.controller(platform, "kueue")
    return {
        "controllerManager": {
            "replicas": kueue.replicas,
            "topologySpreadConstraints": ha.topology_spread(kueue),
            "podDisruptionBudget": ha.disruption_budget(kueue),
            "manager": {"priorityClassName": PLATFORM_SERVICES},
            "nodeSelector": SYSTEM_POOL_LABELS,
        },
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(kueue_manager_config(platform), sort_keys=False)},
        # The Service in front of the webhook targets the same port the manager listens on.
        "webhookService": {"ports": [{"port": 443, "protocol": "TCP", "targetPort": controllers.KUEUE_WEBHOOK_PORT}]},
    }


def jobset_values(platform: Platform) -> dict:
    """The chart's values: the model's, then the stack's charts.jobset.values override merged over them."""
    jobset = ha.controller(platform, "jobset")
    values = {"controller": {"replicas": jobset.replicas, "affinity": ha.anti_affinity(jobset),
                             "podDisruptionBudget": ha.disruption_budget(jobset), "nodeSelector": SYSTEM_POOL_LABELS}}
    return with_overrides("jobset", pinned("jobset", values), platform.charts.jobset.values)
