"""One place that turns a GPU pool or NAP shape into node labels, taints and capacity.

The node pool, its Kueue ResourceFlavor, the tolerations workloads need and the dashboards that
count nodes all read a `Flavor`, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional, Union

from .catalog import MachineType, machine_types
from .derived import per_platform
from .schema import GpuPool, NapShape, Platform, Provisioning
from .sharing import SharingSpec, sharing_spec

LABEL_PREFIX = "batch-platform"
FLAVOR_LABEL = f"{LABEL_PREFIX}/flavor"
CAPACITY_KEY = f"{LABEL_PREFIX}/capacity"
# Capacity value of NAP-created compact pools (NAP copies a selector + toleration pair onto its pools).
COMPACT = "compact"
# The system pool's label; platform controllers select it so they never wait for a GPU node.
SYSTEM_POOL_LABELS = {f"{LABEL_PREFIX}/pool": "system"}

GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GKE_SPOT_LABEL = "cloud.google.com/gke-spot"
GKE_QUEUED_TAINT = "cloud.google.com/gke-queued"
GKE_DRIVER_LABEL = "cloud.google.com/gke-gpu-driver-version"
GPU_RESOURCE = "nvidia.com/gpu"
# NAP builds a compact-placement pool for pending pods that select a placement group (GKE "Define
# compact placement for GKE nodes"); the value names the group, so it is per job, never per flavor.
GKE_PLACEMENT_GROUP_LABEL = "cloud.google.com/gke-placement-group"
LABEL_VALUE_MAX = 63


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str = "NoSchedule"

    def for_kubernetes(self) -> dict:
        return {"key": self.key, "value": self.value, "effect": self.effect}

    def for_gke(self) -> dict:
        # GKE's API spells effects in SCREAMING_SNAKE_CASE.
        effect = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
        return {"key": self.key, "value": self.value, "effect": effect[self.effect]}

    def toleration(self) -> dict:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


# GKE taints every GPU node with this; the reference wrote value "true", which no node carries.
GKE_GPU_TAINT = Taint(GPU_RESOURCE, "present")


@dataclass(frozen=True)
class Flavor:
    """A kind of GPU capacity: one static node pool or one NAP shape, and one ResourceFlavor."""

    name: str
    capacity: str  # a Provisioning value, or COMPACT for NAP shapes
    machine: MachineType
    accelerator: str
    gpus_per_node: int
    max_nodes: int
    own_labels: dict[str, str]  # set by us on the node pool (or by NAP from the workload's selector)
    gke_labels: dict[str, str]  # set by GKE itself on such nodes
    own_taints: tuple[Taint, ...]
    gke_taints: tuple[Taint, ...]
    source: Union[GpuPool, NapShape]
    gpu_driver: str  # GKE-managed driver channel: the pool's own gpuDriver, else versions.gpuDriver
    sharing: Optional[SharingSpec] = None  # GPU sharing: its GKE labels are in gke_labels

    @property
    def units_per_gpu(self) -> int:
        """`nvidia.com/gpu` per physical GPU: 1, or the sharing clients x MIG partitions."""
        return self.sharing.units_per_gpu if self.sharing else 1

    @property
    def gpu_units_per_node(self) -> int:
        """What one node advertises as allocatable `nvidia.com/gpu`; quotas count these units."""
        return self.gpus_per_node * self.units_per_gpu

    @property
    def gpu_units(self) -> int:
        return self.max_nodes * self.gpu_units_per_node

    @property
    def node_labels(self) -> dict[str, str]:
        return {**self.gke_labels, **self.own_labels}

    @property
    def node_taints(self) -> tuple[Taint, ...]:
        return self.gke_taints + self.own_taints

    @property
    def tolerations(self) -> list[dict]:
        """What a workload must tolerate to run on this flavor's nodes: the ResourceFlavor carries them,
        and Kueue injects them into every pod it admits to the flavor (D1)."""
        return [t.toleration() for t in self.node_taints]

    @property
    def compact(self) -> bool:
        return self.capacity == COMPACT

    @property
    def is_nap(self) -> bool:
        return isinstance(self.source, NapShape)

    @property
    def gpus(self) -> int:
        """Physical GPUs at the flavor's maximum (what GCP quota and NAP limits count)."""
        return self.max_nodes * self.gpus_per_node

    @property
    def vcpus(self) -> int:
        return self.max_nodes * self.machine.vcpus

    @property
    def memory_gb(self) -> int:
        return self.max_nodes * self.machine.memory_gb


def _machine(shape: Union[GpuPool, NapShape]) -> MachineType:
    # An unknown machine type is reported by the checks; a stand-in keeps the other checks running.
    fallback = MachineType(shape.machine_type, 0, 0, shape.accelerator.type, shape.accelerator.count)
    return machine_types().get(shape.machine_type, fallback)


def pool_flavor(pool: GpuPool, default_driver: str) -> Flavor:
    capacity = pool.provisioning.value
    sharing = sharing_spec(pool.accelerator.type, pool.accelerator.sharing)
    gke_labels = {GKE_ACCELERATOR_LABEL: pool.accelerator.type, **(sharing.node_labels() if sharing else {})}
    gke_taints = [GKE_GPU_TAINT]
    if pool.provisioning is Provisioning.SPOT:
        gke_labels[GKE_SPOT_LABEL] = "true"
    if pool.provisioning is Provisioning.DWS:
        # GKE taints queued-provisioning nodes so only pods that asked for DWS capacity land there.
        gke_taints.append(Taint(GKE_QUEUED_TAINT, "true"))
    nodes = pool.reserved_nodes if pool.provisioning is Provisioning.RESERVED else pool.max_nodes
    return Flavor(
        name=pool.name,
        capacity=capacity,
        machine=_machine(pool),
        accelerator=pool.accelerator.type,
        gpus_per_node=pool.accelerator.count,
        max_nodes=nodes,
        own_labels={FLAVOR_LABEL: pool.name, CAPACITY_KEY: capacity},
        gke_labels=gke_labels,
        own_taints=(Taint(CAPACITY_KEY, capacity),),
        gke_taints=tuple(gke_taints),
        source=pool,
        gpu_driver=pool.gpu_driver or default_driver,
        sharing=sharing,
    )


def nap_flavor(shape: NapShape, gpu_driver: str) -> Flavor:
    # NAP builds a pool for a pending pod from its nodeSelector; a selector key that the pod also
    # tolerates becomes a label *and* taint of the new pool (GKE "workload separation").
    sharing = sharing_spec(shape.accelerator.type, shape.accelerator.sharing)
    gke_labels = {GKE_ACCELERATOR_LABEL: shape.accelerator.type, GKE_DRIVER_LABEL: gpu_driver.lower(),
                  **(sharing.node_labels() if sharing else {})}
    gke_taints = [GKE_GPU_TAINT]
    if shape.spot:
        gke_labels[GKE_SPOT_LABEL] = "true"
        gke_taints.append(Taint(GKE_SPOT_LABEL, "true"))
    capacity = COMPACT if shape.compact_placement else "auto"
    return Flavor(
        name=shape.name,
        capacity=capacity,
        machine=_machine(shape),
        accelerator=shape.accelerator.type,
        gpus_per_node=shape.accelerator.count,
        max_nodes=shape.max_gpus // shape.accelerator.count,
        own_labels={CAPACITY_KEY: capacity},
        gke_labels=gke_labels,
        own_taints=(Taint(CAPACITY_KEY, capacity),),
        gke_taints=tuple(gke_taints),
        source=shape,
        gpu_driver=gpu_driver,
        sharing=sharing,
    )


@per_platform
def flavors(platform: Platform) -> dict[str, Flavor]:
    """Every flavor of the platform by name, static pools first, in config order (built once per platform;
    read it, never mutate it)."""
    driver = platform.versions.gpu_driver
    result = {p.name: pool_flavor(p, driver) for p in platform.gpu_pools}
    if platform.node_auto_provisioning.enabled:
        for shape in platform.node_auto_provisioning.shapes:
            # A shape named like a pool is reported by the checks; the pool keeps the name meanwhile.
            result.setdefault(shape.name, nap_flavor(shape, driver))
    return result


def placement_group(job_name: str, namespace: Optional[str] = None) -> str:
    """A valid label value naming one job's placement group; jobs of different namespaces never share one."""
    group = f"{namespace}-{job_name}" if namespace else job_name
    if len(group) <= LABEL_VALUE_MAX:
        return group
    digest = hashlib.sha256(group.encode()).hexdigest()[:8]
    return f"{group[:LABEL_VALUE_MAX - 9].rstrip('-.')}-{digest}"


def job_placement(flavor: Flavor, job_name: str, namespace: Optional[str] = None) -> dict:
    """Pod-template fields a job of `flavor` must carry beyond what Kueue injects (D2); {} for most.

    Kueue injects the flavor's nodeLabels as nodeSelector and its tolerations (pkg/podset/podset.go,
    FromAssignment), all per flavor. A compact flavor also needs a per-job
    `cloud.google.com/gke-placement-group` selector: NAP creates a compact-placement pool only for
    pods that select a placement group, with the accelerator chosen by `gke-accelerator` (already in
    the flavor's nodeLabels) - GKE "Define compact placement for GKE nodes". One group per job keeps
    each job's nodes close together and apart from other jobs. Kueue's flavor assignment ignores the
    selector, because no flavor's nodeLabels has that key (flavorassigner.go, flavorSelector).
    """
    if not flavor.compact:
        return {}
    return {"nodeSelector": {GKE_PLACEMENT_GROUP_LABEL: placement_group(job_name, namespace)}}
