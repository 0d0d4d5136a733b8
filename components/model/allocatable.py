"""What a GPU node really offers pods: GKE's documented allocatable, less what every GPU node runs (D4).

Queue cpu/memory quotas per GPU, and any check that a job fits a node, use `per_gpu`, so a job
sized to its quota always fits on one node of its flavor.

Sources:
- GKE "Plan GKE Standard node sizes", memory and CPU reservations
  (https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes#memory_and_cpu_reservations):
  CPU 6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% of any above 4; memory 255 MiB
  below 1 GiB, else 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next 112,
  2% above 128; plus a 100 MiB eviction threshold.
- GKE "Use Image streaming", memory reservation
  (https://cloud.google.com/kubernetes-engine/docs/how-to/image-streaming#memory_reservation_for):
  10% / 8% / 4% / 2.4% / 0.8% over the same memory tiers, on nodes with image streaming (ours: gcfs).
- platform/catalog/gpu_node_overhead.yaml: the GPU-node DaemonSets and the kernel's share (estimates).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path


from .catalog import MachineType
from .yaml_input import read_platform_data

OVERHEAD_FILE = Path(__file__).resolve().parents[2] / "platform" / "catalog" / "gpu_node_overhead.yaml"

INF = float("inf")
CPU_TIERS = ((1, 0.06), (1, 0.01), (2, 0.005), (INF, 0.0025))  # (cores, share reserved)
MEMORY_TIERS = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (INF, 0.02))  # (GiB, share reserved)
IMAGE_STREAMING_TIERS = ((4, 0.10), (4, 0.08), (8, 0.04), (112, 0.024), (INF, 0.008))
SMALL_MACHINE_MEMORY_MIB = 255  # reserved on machines with less than 1 GiB
EVICTION_THRESHOLD_MIB = 100


@dataclass(frozen=True)
class Resources:
    cpu_millis: int
    memory_mib: int

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(self.cpu_millis - other.cpu_millis, self.memory_mib - other.memory_mib)

    def split(self, parts: int) -> "Resources":
        """An equal share, rounded down, so `parts` shares never exceed the whole."""
        return Resources(self.cpu_millis // parts, self.memory_mib // parts)

    def times(self, n: int) -> "Resources":
        return Resources(self.cpu_millis * n, self.memory_mib * n)

    def quantities(self) -> dict[str, str]:
        return {"cpu": f"{self.cpu_millis}m" if self.cpu_millis else "0",
                "memory": f"{self.memory_mib}Mi" if self.memory_mib else "0"}

    def fits_in(self, other: "Resources") -> bool:
        return self.cpu_millis <= other.cpu_millis and self.memory_mib <= other.memory_mib


def _tiered(amount: float, tiers: tuple[tuple[float, float], ...]) -> float:
    reserved, rest = 0.0, amount
    for size, share in tiers:
        part = min(rest, size)
        reserved += part * share
        rest -= part
        if rest <= 0:
            break
    return reserved


def gke_reserved(machine: MachineType, image_streaming: bool) -> Resources:
    """CPU and memory GKE reserves for the node itself (kube-reserved + eviction threshold)."""
    cpu = _tiered(machine.vcpus, CPU_TIERS) * 1000
    gib = machine.memory_gb
    if gib < 1:
        memory = SMALL_MACHINE_MEMORY_MIB
    else:
        memory = _tiered(gib, MEMORY_TIERS) * 1024
        if image_streaming:
            memory += _tiered(gib, IMAGE_STREAMING_TIERS) * 1024
    return Resources(int(-(-cpu // 1)), int(-(-memory // 1)) + EVICTION_THRESHOLD_MIB)


def kubelet_allocatable(machine: MachineType, image_streaming: bool = True, kernel_share: bool = True) -> Resources:
    """Node allocatable as the kubelet reports it (what `kubectl describe node` shows)."""
    capacity_mib = machine.memory_gb * 1024
    if kernel_share:
        capacity_mib -= capacity_mib * node_overhead().kernel_memory_percent // 100
    reserved = gke_reserved(machine, image_streaming)
    return Resources(machine.vcpus * 1000 - reserved.cpu_millis, capacity_mib - reserved.memory_mib)


@dataclass(frozen=True)
class DaemonSet:
    name: str
    namespace: str
    why: str
    requests: Resources


@dataclass(frozen=True)
class NodeOverhead:
    daemonsets: tuple[DaemonSet, ...]
    kernel_memory_percent: int

    @property
    def daemonset_requests(self) -> Resources:
        return Resources(sum(d.requests.cpu_millis for d in self.daemonsets),
                         sum(d.requests.memory_mib for d in self.daemonsets))


@cache
def node_overhead() -> NodeOverhead:
    raw = read_platform_data(OVERHEAD_FILE)
    return NodeOverhead(
        daemonsets=tuple(DaemonSet(d["name"], d["namespace"], d["why"], Resources(d["cpuMillicores"], d["memoryMiB"]))
                         for d in raw["daemonSets"]),
        kernel_memory_percent=raw["kernelMemoryPercent"],
    )


def gpu_node_allocatable(machine: MachineType) -> Resources:
    """What the batch pods on one GPU node can request together."""
    return kubelet_allocatable(machine) - node_overhead().daemonset_requests


def per_gpu(machine: MachineType, gpus_per_node: int) -> Resources:
    """cpu/memory that go with one GPU of such a node; x gpus_per_node never exceeds the node."""
    return gpu_node_allocatable(machine).split(max(gpus_per_node, 1))
