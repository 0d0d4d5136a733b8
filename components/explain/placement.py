"""Would a node exist for an admitted pod: a static pool, or a pool Node Auto Provisioning creates?

After admission Kueue adds the flavor's nodeLabels to the pod's nodeSelector and the flavor's
tolerations to its tolerations (Kueue `pkg/podset/podset.go` FromAssignment, Merge); DWS adds the
ProvisioningRequestConfig's `podSetUpdates` selector. Then kube-scheduler needs a node whose labels
match (nodeSelector, required affinity), whose NoSchedule/NoExecute taints the pod tolerates, and whose
allocatable holds the pod's requests (Kubernetes "Resource Management for Pods and Containers"),
including the Cloud Storage FUSE sidecar GKE injects into pods annotated `gke-gcsfuse/volumes: "true"`
(components/explain/gcsfuse.py). Node allocatable is GKE's documented
formula less the GPU-node DaemonSets (components/model/allocatable.py, the function quotas use).

NAP (GKE "Use node auto-provisioning", "Configure workload separation in GKE"): for a pending pod it
creates a pool of a machine with the requested accelerator (`cloud.google.com/gke-accelerator`
selector) whose node labels are the pod's nodeSelector, tainted for each selected key=value the pod
tolerates with NoSchedule, within the cluster's resource limits (which count every node).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.model.allocatable import gpu_node_allocatable, kubelet_allocatable
from components.model.catalog import MachineType, machine_types

from .cluster import GKE_ACCELERATOR_LABEL, GPU_TAINT, INSTANCE_TYPE_LABEL, ClusterView, NodePool
from .gcsfuse import gcsfuse_sidecar, with_gcsfuse_sidecar
from .matching import selector_matches, selector_mismatch, untolerated_taint
from .quantity import MI, show
from .workload import pod_requests

GPU = "nvidia.com/gpu"
PLACEMENT_GROUP_LABEL = "cloud.google.com/gke-placement-group"


@dataclass
class Placement:
    pool: Optional[str]  # the static pool, or "NAP <machine>" for an auto-provisioned one
    nodes: int  # nodes the pod set needs there
    reasons: list[str]  # why no pool fits (empty when placed)
    fix: str = ""


def volume_drivers(cluster: ClusterView, spec: dict) -> set[str]:
    """The CSI drivers the pod's volumes need: inline `csi` volumes name theirs; a claim bound to a volume
    (`volumeName`) needs that volume's driver, any other claim the provisioner of its StorageClass (a
    claim, volume or class not on the cluster is not checked here)."""
    drivers = set()
    for volume in spec.get("volumes") or []:
        if "csi" in volume:
            drivers.add(volume["csi"]["driver"])
        elif "persistentVolumeClaim" in volume:
            pvc = cluster.named("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
            claim = (pvc or {}).get("spec") or {}
            if claim.get("volumeName"):
                pv = cluster.named("PersistentVolume", claim["volumeName"])
                driver = ((pv or {}).get("spec") or {}).get("csi", {}).get("driver", "")
            else:
                sc = pvc and cluster.named("StorageClass", claim.get("storageClassName", ""))
                driver = str((sc or {}).get("provisioner", ""))
            if driver.endswith(".csi.storage.gke.io"):
                drivers.add(driver)
    return drivers


def allocatable(machine: MachineType, gpus: int) -> dict[str, int]:
    node = gpu_node_allocatable(machine) if gpus else kubelet_allocatable(machine)
    return {"cpu": node.cpu_millis, "memory": node.memory_mib * MI, GPU: gpus}


def _fits(requests: dict[str, int], room: dict[str, int]) -> list[str]:
    return [f"{r} {show(r, v)} > {show(r, room.get(r, 0))}" for r, v in sorted(requests.items())
            if r in ("cpu", "memory", GPU) and v > room.get(r, 0)]


def place(cluster: ClusterView, spec: dict, annotations: dict[str, str], count: int) -> Placement:
    missing = sorted(volume_drivers(cluster, spec) - cluster.csi_drivers) if cluster.csi_drivers is not None else []
    if missing:  # the kubelet cannot mount the volume: the pod never starts
        return Placement(None, 0, [f"CSI driver {', '.join(missing)} is not enabled on the cluster"],
                         "enable its GKE add-on (addonsConfig) or drop the volume")
    requests = pod_requests(with_gcsfuse_sidecar(spec, annotations))  # idempotent: a plain pod's has it already
    tolerations = list(spec.get("tolerations") or [])
    matching: list[NodePool] = []
    for pool in cluster.pools:
        if not selector_matches(spec, pool.labels):
            continue
        if untolerated_taint(pool.taints, tolerations):
            continue
        matching.append(pool)
    shared = [p for p in matching if p.sharing]
    whole = _whole_gpu_containers(spec)
    if shared and whole:
        pool = shared[0]
        return Placement(None, 0, [f"pool {pool.name} time-shares its GPUs ({pool.sharing}): GKE lets a container "
                                   f"request at most 1 nvidia.com/gpu there, and {', '.join(whole)}"],
                         "request nvidia.com/gpu: 1 per container on the shared queue, or submit a whole-GPU job "
                         "to the high or low queue")
    too_small = []
    for pool in matching:
        room = allocatable(pool.machine, pool.gpus)
        short = _fits(requests, room)
        if short:
            too_small.append((pool, short))
            continue
        per_node, nodes = _nodes_needed(room, requests, count)
        if nodes > pool.max_nodes:
            return Placement(None, nodes, [f"pool {pool.name} fits {per_node} pod(s) per node but has at most "
                                           f"{pool.max_nodes} node(s); the job needs {nodes}"],
                             f"run at most {pool.max_nodes * per_node} pods, or raise the pool's maxNodes")
        return Placement(pool.name, nodes, [])
    if too_small:
        pool, short = too_small[0]
        gpus, room = requests.get(GPU, 0), allocatable(pool.machine, pool.gpus)
        fix = (f"request <= {pool.gpus} GPUs per pod: {pool.machine.name} has {pool.gpus}" if gpus > pool.gpus
               else f"request <= {show('cpu', room['cpu'])} cpu and {show('memory', room['memory'])} memory per pod "
                    f"(allocatable of {pool.machine.name}, GCS FUSE sidecar included in the request)")
        return Placement(None, 0, [f"pod larger than any node of pool {pool.name}: {', '.join(short)}"], fix)
    nap = _nap(cluster, spec, tolerations, requests, count)
    if nap:
        return nap
    nearest = [p for p in cluster.pools if p.accelerator] or cluster.pools
    reasons = []
    for pool in nearest:
        if not selector_matches(spec, pool.labels):
            reasons.append(f"pool {pool.name}: node labels do not match {', '.join(selector_mismatch(spec, pool.labels)) or 'the required affinity'}")
        elif (taint := untolerated_taint(pool.taints, tolerations)):
            reasons.append(f"pool {pool.name}: untolerated taint {taint['key']}={taint.get('value', '')}:{taint['effect']}")
    return Placement(None, 0, reasons or ["no node pool matches the pod"], "select labels a pool's nodes carry")


def _nodes_needed(room: dict[str, int], requests: dict[str, int], count: int) -> tuple[int, int]:
    """Pods per node (the scarcest resource decides) and the nodes `count` pods need."""
    per_node = min((room[r] // v for r, v in requests.items() if r in room and v), default=count) or 1
    return per_node, -(-count // per_node)


def _whole_gpu_containers(spec: dict) -> list[str]:
    """Containers asking for more than one GPU: a time-sharing/MPS node refuses them at pod admission
    ("invalid request for sharing GPU (time-sharing), at most 1 nvidia.com/gpu can be requested on GPU
    nodes", GKE "About GPU sharing strategies in GKE")."""
    out = []
    for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        res = c.get("resources") or {}
        value = (res.get("limits") or {}).get(GPU) or (res.get("requests") or {}).get(GPU)
        if value is not None and int(str(value)) > 1:
            out.append(f"container {c.get('name', '?')} requests {value}")
    return out


def _nap(cluster: ClusterView, spec: dict, tolerations: list[dict], requests: dict[str, int], count: int) -> Optional[Placement]:
    if not cluster.nap.enabled:
        return None
    selector = dict(spec.get("nodeSelector") or {})
    accelerator = selector.get(GKE_ACCELERATOR_LABEL)
    gpus = requests.get(GPU, 0)
    if gpus and not accelerator:
        return None
    shapes = sorted((m for m in machine_types().values() if m.accelerator == accelerator and m.gpus >= gpus),
                    key=lambda m: (m.gpus, m.vcpus, m.memory_gb)) if gpus else []
    shape = next((m for m in shapes if not _fits(requests, allocatable(m, m.gpus))), None)
    if shape is None:
        return Placement(None, 0, [f"no {accelerator} machine NAP could create holds the pod ({', '.join(f'{r} {show(r, v)}' for r, v in sorted(requests.items()))})"],
                         "request less per pod")
    labels = {**selector, GKE_ACCELERATOR_LABEL: accelerator, INSTANCE_TYPE_LABEL: shape.name}
    taints = [dict(GPU_TAINT)] + [{"key": k, "value": v, "effect": "NoSchedule"} for k, v in selector.items()
                                  if not untolerated_taint([{"key": k, "value": v, "effect": "NoSchedule"}], tolerations)]
    if not selector_matches(spec, labels) or untolerated_taint(taints, tolerations):
        return None
    _, nodes = _nodes_needed(allocatable(shape, shape.gpus), requests, count)
    headroom = _nap_headroom(cluster, accelerator)
    need = {"cpu": nodes * shape.vcpus, "memory": nodes * shape.memory_gb, accelerator: nodes * shape.gpus}
    over = [f"{k} {v} > {headroom.get(k, 0)} left" for k, v in need.items() if v > headroom.get(k, 0)]
    if over:
        return Placement(None, nodes, [f"NAP limits: {nodes} x {shape.name} needs {', '.join(over)} "
                                       "(limits minus every static pool at its maximum)"], "raise the NAP shape's maxGpus")
    group = selector.get(PLACEMENT_GROUP_LABEL)
    where = f"NAP {shape.name}" + (f" (compact placement group {group})" if group else "")
    return Placement(where, nodes, [])


def _nap_headroom(cluster: ClusterView, accelerator: str) -> dict[str, int]:
    limits = cluster.nap.limits
    used = {"cpu": 0, "memory": 0, accelerator: 0}
    for pool in cluster.pools:
        used["cpu"] += pool.max_nodes * pool.machine.vcpus
        used["memory"] += pool.max_nodes * pool.machine.memory_gb
        if pool.accelerator == accelerator:
            used[accelerator] += pool.max_nodes * pool.accelerators
    return {k: limits.get(k, 0) - v for k, v in used.items()}


__all__ = ["Placement", "place", "gcsfuse_sidecar", "allocatable"]
