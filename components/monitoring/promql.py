"""PromQL building blocks derived from the model: label selectors for the platform's real names.

Every query the dashboards and alerts use is assembled here from the pools, teams and queues of the
model, so a new team or pool shows up in the panels and alerts without editing a query.
"""

from __future__ import annotations

import re

from components.model import Flavor, Platform, flavors, queue_classes
from components.model.flavors import CAPACITY_KEY, GPU_RESOURCE, SYSTEM_POOL_LABELS
from components.kubernetes.render import DWS, KUEUE_NAMESPACE, TEAM_LABEL

# Kueue runs two replicas; only the leader (or a lone replica, "standalone") reports queue state,
# a follower's gauges are not the cluster's (kueue site/content/en/docs/reference/metrics.md: replica_role).
NOT_FOLLOWER = 'replica_role!="follower"'
# Kueue labels quota metrics with the resource name as written in the ClusterQueue.
GPU = f'resource="{GPU_RESOURCE}"'
# kube-state-metrics names resources Prometheus-style (nvidia.com/gpu -> nvidia_com_gpu).
KSM_GPU = 'resource="nvidia_com_gpu"'
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"


def ksm_label(key: str) -> str:
    """kube_node_labels' label for a node label key: `label_` + the key with non-alphanumerics as `_`
    (kube-state-metrics docs/metrics/cluster/node-metrics.md, `label_NODE_LABEL`)."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def node_label_keys(platform: Platform) -> list[str]:
    """Every node label the dashboards select on; kube-state-metrics must allowlist exactly these."""
    keys = set(SYSTEM_POOL_LABELS)
    for flavor in flavors(platform).values():
        keys |= set(flavor.node_labels)
    return sorted(keys)


def _selector(labels: dict[str, str]) -> str:
    return ", ".join(f'{ksm_label(k)}="{v}"' for k, v in sorted(labels.items()))


def flavor_nodes(flavor: Flavor) -> str:
    """kube_node_labels of the nodes a flavor's pool (or NAP shape) creates: all the labels it carries."""
    return f"kube_node_labels{{{_selector(flavor.node_labels)}}}"


def system_nodes() -> str:
    return f"kube_node_labels{{{_selector(SYSTEM_POOL_LABELS)}}}"


def capacity_label() -> str:
    return ksm_label(CAPACITY_KEY)


# Team namespaces carry the team label (components/kubernetes/render.py); selecting them through
# kube_namespace_labels instead of a list of names means adding a team changes no rule or dashboard.
TEAM_NAMESPACES = f'kube_namespace_labels{{{ksm_label(TEAM_LABEL)}!=""}}'


def in_team_namespaces(expr: str) -> str:
    """`expr` restricted to series whose `namespace` is a team's namespace."""
    return f"({expr}) * on (namespace) group_left () {TEAM_NAMESPACES}"


# Classes with a ClusterQueue per team (`<team>-<class>`); DWS has one shared ClusterQueue.
TEAM_CLASSES = tuple(c.name for c in queue_classes.TEAM_CLASSES)


def classes(platform: Platform) -> list[str]:
    """Queue classes (LocalQueue names) that exist in this platform, in documented order."""
    present = {cls for t in platform.teams for cls, quotas in t.queues.by_class() if quotas}
    ordered = [c for c in TEAM_CLASSES if c in present]
    return ordered + ([DWS] if platform.dws and any(t.dws for t in platform.teams) else [])


KUEUE_UP = f'up{{namespace="{KUEUE_NAMESPACE}"}}'
