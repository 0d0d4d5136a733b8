"""What `explain` reasons about: the platform's rendered objects and the nodes GKE would run.

Built from a capture of the real program (components.capture), never from the model: the Kueue
objects, LimitRanges, PriorityClasses and admission policies exactly as they would be applied, and
the GPU node pools as they would be created, plus what GKE itself adds to such nodes:
- every node: `cloud.google.com/gke-nodepool: <pool>` and `node.kubernetes.io/instance-type`
  (GKE "About node pools"; Kubernetes "Well-Known Labels");
- GPU nodes: `cloud.google.com/gke-accelerator: <type>` label and the `nvidia.com/gpu=present:NoSchedule`
  taint (GKE "Run GPUs in GKE Standard node pools": GKE taints GPU nodes so non-GPU pods stay off);
- Spot nodes: `cloud.google.com/gke-spot: "true"` (GKE "Spot VMs");
- queued-provisioning (DWS) nodes: the `cloud.google.com/gke-queued=true:NoSchedule` taint
  (GKE "Deploy GPUs for batch workloads with Dynamic Workload Scheduler");
- GPU sharing nodes (the pool's `gpuSharingConfig` / `gpuPartitionSize`): the labels
  `cloud.google.com/gke-gpu-sharing-strategy`, `cloud.google.com/gke-max-shared-clients-per-gpu` and
  `cloud.google.com/gke-gpu-partition-size`, and each GPU advertised as one `nvidia.com/gpu` per client
  and per MIG partition (GKE "About GPU sharing strategies in GKE", "Running multi-instance GPUs").
Node Auto Provisioning is described by the cluster's `clusterAutoscaling` (enabled, resourceLimits).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Optional

from components.model.catalog import MachineType, machine_types
from components.model.sharing import MAX_CLIENTS_LABEL, MIG_PARTITIONS, PARTITION_SIZE_LABEL, SHARING_STRATEGY_LABEL

GKE_NODEPOOL_LABEL = "cloud.google.com/gke-nodepool"
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GKE_SPOT_LABEL = "cloud.google.com/gke-spot"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
QUEUED_TAINT = {"key": "cloud.google.com/gke-queued", "value": "true", "effect": "NoSchedule"}
GKE_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"
CLUSTER_TYPE = "gcp:container/cluster:Cluster"


@dataclass(frozen=True)
class NodePool:
    """One static node pool: what each of its nodes looks like, and how many there can be."""

    name: str
    machine: MachineType
    labels: dict[str, str]
    taints: tuple[dict, ...]
    max_nodes: int
    accelerator: Optional[str] = None
    gpus: int = 0  # `nvidia.com/gpu` per node: physical GPUs, or shared units on a sharing pool
    queued_provisioning: bool = False
    physical_gpus: int = 0
    sharing: Optional[str] = None  # time-sharing | mps on a sharing pool

    @property
    def accelerators(self) -> int:
        """Physical GPUs per node (what NAP limits count)."""
        return self.physical_gpus or self.gpus


@dataclass(frozen=True)
class Nap:
    """Node Auto Provisioning: on, and the cluster-wide limits every node (static or not) counts against."""

    enabled: bool
    limits: dict[str, int]  # cpu (cores), memory (GB), and one entry per accelerator type (GPUs)


# GKE add-ons that install a CSI driver (addonsConfig field -> driver name), GKE "About CSI drivers".
CSI_ADDONS = {"gcsFuseCsiDriverConfig": "gcsfuse.csi.storage.gke.io",
              "gcePersistentDiskCsiDriverConfig": "pd.csi.storage.gke.io",
              "gcpFilestoreCsiDriverConfig": "filestore.csi.storage.gke.io"}


@dataclass
class ClusterView:
    objects: list[dict]
    pools: list[NodePool] = field(default_factory=list)
    nap: Nap = field(default_factory=lambda: Nap(False, {}))
    csi_drivers: Optional[frozenset[str]] = None  # None: unknown (a view built by hand), not checked

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o.get("kind") == kind]

    def named(self, kind: str, name: str, namespace: Optional[str] = None) -> Optional[dict]:
        for o in self.of_kind(kind):
            md = o.get("metadata") or {}
            if md.get("name") == name and (namespace is None or md.get("namespace") == namespace):
                return o
        return None

    def in_namespace(self, kind: str, namespace: str) -> list[dict]:
        return [o for o in self.of_kind(kind) if (o.get("metadata") or {}).get("namespace") == namespace]


def pool_from_inputs(inputs: dict) -> NodePool:
    """A static pool from the inputs Pulumi sends for gcp.container.NodePool, with GKE's own labels/taints."""
    config = inputs.get("nodeConfig") or {}
    machine_name = config.get("machineType", "")
    machine = machine_types().get(machine_name, MachineType(machine_name, 0, 0))
    accelerators = config.get("guestAccelerators") or []
    accelerator = accelerators[0]["type"] if accelerators else None
    gpus = int(accelerators[0].get("count", 0)) if accelerators else 0
    labels = {GKE_NODEPOOL_LABEL: inputs.get("name", ""), INSTANCE_TYPE_LABEL: machine_name,
              **(config.get("labels") or {})}
    taints = [{"key": t["key"], "value": t.get("value", ""), "effect": GKE_EFFECTS.get(t["effect"], t["effect"])}
              for t in config.get("taints") or []]
    units, sharing = gpus, None
    if accelerator:
        labels[GKE_ACCELERATOR_LABEL] = accelerator
        taints.append(dict(GPU_TAINT))
        shared = accelerators[0].get("gpuSharingConfig") or {}
        size = accelerators[0].get("gpuPartitionSize")
        if shared.get("gpuSharingStrategy"):
            sharing = shared["gpuSharingStrategy"].lower().replace("_", "-")
            clients = int(shared.get("maxSharedClientsPerGpu") or 1)
            labels[SHARING_STRATEGY_LABEL] = sharing
            labels[MAX_CLIENTS_LABEL] = str(clients)
            units *= clients
        if size:
            labels[PARTITION_SIZE_LABEL] = size
            units *= MIG_PARTITIONS.get(accelerator, {}).get(size, 1)
    if config.get("spot"):
        labels[GKE_SPOT_LABEL] = "true"
    queued = bool((inputs.get("queuedProvisioning") or {}).get("enabled"))
    if queued:
        taints.append(dict(QUEUED_TAINT))
    autoscaling = inputs.get("autoscaling") or {}
    if autoscaling:
        max_nodes = int(autoscaling.get("totalMaxNodeCount") or autoscaling.get("maxNodeCount") or 0)
    else:
        max_nodes = int(inputs.get("nodeCount") or inputs.get("initialNodeCount") or 0)
    return NodePool(inputs.get("name", ""), machine, labels, tuple(taints), max_nodes, accelerator, units, queued,
                    physical_gpus=gpus, sharing=sharing)


def nap_from_cluster(inputs: dict) -> Nap:
    autoscaling = inputs.get("clusterAutoscaling") or {}
    limits = {l["resourceType"]: int(l.get("maximum", 0)) for l in autoscaling.get("resourceLimits") or []}
    return Nap(bool(autoscaling.get("enabled")), limits)


def from_capture(capture) -> ClusterView:
    """The view of a mock run of the real program (`components.capture.run_stack`)."""
    from components.plan import embedded_configuration, kubernetes_object  # what `plan` writes to manifests/

    objects = []
    for obj in filter(None, (kubernetes_object(r) for r in capture.resources)):
        objects += embedded_configuration(obj) if obj["kind"] == "HelmChart" else [obj]
    pools = [_named_as_the_stack(pool_from_inputs(r.inputs), r) for r in capture.of_type(NODE_POOL_TYPE)]
    clusters = capture.of_type(CLUSTER_TYPE)
    nap = nap_from_cluster(clusters[0].inputs) if clusters else Nap(False, {})
    addons = (clusters[0].inputs.get("addonsConfig") or {}) if clusters else {}
    drivers = frozenset(d for key, d in CSI_ADDONS.items() if (addons.get(key) or {}).get("enabled"))
    return ClusterView(objects, pools, nap, drivers)


def _named_as_the_stack(pool: NodePool, resource) -> NodePool:
    """A pool the program leaves to Pulumi's auto-naming is shown by its resource name: the mock run's
    random suffix is not the name GKE will have (Pulumi picks a new one at deploy). Node labels keep the
    mock's value, as the real nodes carry the deployed name."""
    from components.capture import autoname

    if pool.name == autoname(resource.type, resource.name):
        return dataclasses.replace(pool, name=resource.name)
    return pool


def view(objects: Iterable[dict], pools: Iterable[NodePool] = (), nap: Optional[Nap] = None) -> ClusterView:
    return ClusterView(list(objects), list(pools), nap or Nap(False, {}))


# Objects an operator may add or override to ask "what if" (the rest come only from the stack).
WHAT_IF_KINDS = ("ClusterQueue", "LocalQueue", "Cohort", "ResourceFlavor", "WorkloadPriorityClass", "PriorityClass")


def with_objects(cluster: ClusterView, objs: list, source: str) -> ClusterView:
    """The cluster with `objs` added, or replacing the object of the same kind, name and namespace.
    Each must be a kind above and valid against its vendored CRD schema and Kueue's webhook rules
    (components/kubernetes/manifest_validation); a WhatIfError says which and why otherwise."""
    from components.kubernetes.manifest_validation import problems

    def key(o: dict) -> tuple:
        md = o.get("metadata") or {}
        return o.get("kind"), md.get("name"), md.get("namespace")

    found = []
    for i, o in enumerate(objs):
        where = f"{source}: document {i + 1}"
        if not isinstance(o, dict) or o.get("kind") not in WHAT_IF_KINDS:
            kind = o.get("kind") if isinstance(o, dict) else type(o).__name__
            raise WhatIfError(f"{where} is {kind or 'an object without kind'}; what-if objects are "
                              f"{', '.join(WHAT_IF_KINDS)}")
        if not isinstance(o.get("metadata"), dict) or not o["metadata"].get("name"):
            raise WhatIfError(f"{where} ({o['kind']}) has no metadata.name")
        if o["kind"] == "LocalQueue" and not o["metadata"].get("namespace"):
            raise WhatIfError(f"{where}: LocalQueue {o['metadata']['name']} needs metadata.namespace")
        found += problems(o) if o["kind"] != "PriorityClass" else []
    if found:
        raise WhatIfError(f"{source}: " + "; ".join(found))
    replaced = {key(o) for o in objs}
    kept = [o for o in cluster.objects if key(o) not in replaced]
    return ClusterView(kept + list(objs), cluster.pools, cluster.nap, cluster.csi_drivers)


class WhatIfError(ValueError):
    pass
