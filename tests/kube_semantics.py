"""Upstream scheduling semantics, restated in Python so tests can run the platform's objects through them.

Each function names the upstream code or doc it restates; none of them reads the platform's model, so
the tests that use them check the program against Kubernetes, Kueue and GKE, not against itself. This
is a deliberate second opinion beside components/explain, which implements the same upstream rules for
users: a test that ran the platform's objects through explain's code would check explain against itself.
"""

from __future__ import annotations

import copy
from typing import Callable, Optional

GPU = "nvidia.com/gpu"
GKE_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def tolerates_taint(toleration: dict, taint: dict) -> bool:
    """k8s.io/api core/v1 toleration.go `(*Toleration).ToleratesTaint`: an empty effect matches every
    effect, an empty key (with operator Exists) every key; operator "" or Equal compares values."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("key") and toleration["key"] != taint["key"]:
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Equal":
        return toleration.get("value", "") == taint.get("value", "")
    return operator == "Exists"


def find_untolerated_taint(taints: list[dict], tolerations: list[dict],
                           include: Callable[[dict], bool]) -> Optional[dict]:
    """k8s.io/component-helpers scheduling/corev1 `FindMatchingUntoleratedTaint`."""
    for taint in taints:
        if include(taint) and not any(tolerates_taint(t, taint) for t in tolerations):
            return taint
    return None


def _hard(taint: dict) -> bool:
    return taint["effect"] in ("NoSchedule", "NoExecute")


def kueue_flavor_fits(pod_spec: dict, flavor_spec: dict) -> Optional[str]:
    """Kueue v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go `checkFlavorForPodSets`: the pod
    template's tolerations plus the flavor's must tolerate every NoSchedule/NoExecute `nodeTaints` entry,
    and the template's nodeSelector, restricted to keys of this flavor's nodeLabels (`flavorSelector`),
    must match those labels. Returns Kueue's reason when the flavor does not fit."""
    tolerations = list(pod_spec.get("tolerations", [])) + list(flavor_spec.get("tolerations", []))
    taint = find_untolerated_taint(flavor_spec.get("nodeTaints", []), tolerations, _hard)
    if taint:
        return f"untolerated taint {taint}"
    labels = flavor_spec.get("nodeLabels", {})
    for key, value in pod_spec.get("nodeSelector", {}).items():
        if key in labels and labels[key] != value:
            return "doesn't match node affinity"
    return None


def kueue_admit(pod_spec: dict, flavor_spec: dict) -> dict:
    """The pod template after admission: Kueue pkg/podset/podset.go `FromAssignment` takes the flavor's
    nodeLabels as nodeSelector and its tolerations, `Merge` adds them to the template without duplicates."""
    spec = copy.deepcopy(pod_spec)
    spec["nodeSelector"] = {**spec.get("nodeSelector", {}), **flavor_spec.get("nodeLabels", {})}
    tolerations = spec.setdefault("tolerations", [])
    for t in flavor_spec.get("tolerations", []):
        if t not in tolerations:
            tolerations.append(t)
    return spec


def extended_resource_toleration(pod_spec: dict) -> dict:
    """The ExtendedResourceToleration admission plugin (Kubernetes "Admission Control", enabled on GKE):
    a pod requesting an extended resource gets `{key: <resource>, operator: Exists, effect: NoSchedule}`."""
    spec = copy.deepcopy(pod_spec)
    for container in spec.get("containers", []):
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            for name in resources.get(section, {}):
                if "/" in name and not name.startswith("kubernetes.io/"):
                    t = {"key": name, "operator": "Exists", "effect": "NoSchedule"}
                    if t not in spec.setdefault("tolerations", []):
                        spec["tolerations"].append(t)
    return spec


def schedulable(pod_spec: dict, node: dict) -> Optional[str]:
    """kube-scheduler's NodeAffinity (nodeSelector) and TaintToleration filters; None when the pod fits."""
    for key, value in pod_spec.get("nodeSelector", {}).items():
        if node["labels"].get(key) != value:
            return f"node lacks label {key}={value}"
    taint = find_untolerated_taint(node["taints"], pod_spec.get("tolerations", []), _hard)
    return f"untolerated taint {taint}" if taint else None


def static_pool_node(pool_inputs: dict) -> dict:
    """A node of a GKE node pool as the captured NodePool inputs describe it, plus what GKE adds:
    `cloud.google.com/gke-nodepool` and `cloud.google.com/gke-accelerator` labels, `gke-spot` on Spot pools
    (GKE "Use Spot VMs"), the `nvidia.com/gpu=present:NoSchedule` taint on GPU nodes (GKE "About GPUs in
    GKE"), `cloud.google.com/gke-queued=true:NoSchedule` on queued-provisioning pools (GKE "Run a large-scale
    workload with flex-start with queued provisioning"), and on GPU sharing pools
    `cloud.google.com/gke-gpu-sharing-strategy` (lower-case, hyphenated: `time-sharing`, `mps`),
    `cloud.google.com/gke-max-shared-clients-per-gpu` and `cloud.google.com/gke-gpu-partition-size`
    (GKE "About GPU sharing strategies in GKE"; "Running multi-instance GPUs")."""
    config = pool_inputs["nodeConfig"]
    labels = {**config.get("labels", {}), "cloud.google.com/gke-nodepool": pool_inputs["name"]}
    taints = [{"key": t["key"], "value": t["value"], "effect": GKE_EFFECTS[t["effect"]]} for t in config.get("taints", [])]
    accelerators = config.get("guestAccelerators") or []
    if accelerators:
        labels["cloud.google.com/gke-accelerator"] = accelerators[0]["type"]
        taints.append({"key": GPU, "value": "present", "effect": "NoSchedule"})
        sharing = accelerators[0].get("gpuSharingConfig") or {}
        if sharing:
            labels["cloud.google.com/gke-gpu-sharing-strategy"] = {"TIME_SHARING": "time-sharing", "MPS": "mps"}[
                sharing["gpuSharingStrategy"]]
            labels["cloud.google.com/gke-max-shared-clients-per-gpu"] = str(sharing["maxSharedClientsPerGpu"])
        if accelerators[0].get("gpuPartitionSize"):
            labels["cloud.google.com/gke-gpu-partition-size"] = accelerators[0]["gpuPartitionSize"]
    if config.get("spot"):
        labels["cloud.google.com/gke-spot"] = "true"
    if (pool_inputs.get("queuedProvisioning") or {}).get("enabled"):
        taints.append({"key": "cloud.google.com/gke-queued", "value": "true", "effect": "NoSchedule"})
    return {"labels": labels, "taints": taints}


def nap_node(pod_spec: dict) -> dict:
    """The node NAP creates for a pending GPU pod: the labels it selects; a NoSchedule taint for each
    selected label the pod also tolerates (GKE "Configure workload separation in GKE", with node
    auto-provisioning; "Use Spot VMs" for cloud.google.com/gke-spot); GKE's GPU taint on GPU nodes."""
    labels = dict(pod_spec.get("nodeSelector", {}))
    taints = [{"key": GPU, "value": "present", "effect": "NoSchedule"}]
    for key, value in labels.items():
        if key.startswith("cloud.google.com/") and key != "cloud.google.com/gke-spot":
            continue  # GKE's own labels; never turned into taints
        candidate = {"key": key, "value": value, "effect": "NoSchedule"}
        if any(tolerates_taint(t, candidate) for t in pod_spec.get("tolerations", []) if t.get("key") == key):
            taints.append(candidate)
    return {"labels": labels, "taints": taints}
