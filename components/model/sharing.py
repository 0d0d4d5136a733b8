"""GPU sharing: what a sharing pool's nodes advertise, the labels GKE puts on them, and the rules.

One spec (`SharingSpec`) feeds the node pool's `guest_accelerators` settings, the ResourceFlavor's
nodeLabels and the queues' quota units, so the three cannot disagree. GKE's documented behaviour:
- time-sharing / MPS: the node pool's `gpuSharingConfig {gpuSharingStrategy, maxSharedClientsPerGpu}`;
  GKE labels the nodes `cloud.google.com/gke-gpu-sharing-strategy: time-sharing|mps` and
  `cloud.google.com/gke-max-shared-clients-per-gpu: "<n>"`, and the driver presents each physical GPU
  to the kubelet as <n> `nvidia.com/gpu` ("About GPU sharing strategies in GKE",
  cloud.google.com/kubernetes-engine/docs/concepts/timesharing-gpus); a container may request at most
  one shared GPU ("at most 1 nvidia.com/gpu can be requested on GPU nodes", same page);
  max clients per GPU range 2..48 (GKE ComputeClass reference, `gpuSharing.maxSharedClientsPerGPU`);
- MIG: `gpuPartitionSize` on A100 40GB/80GB and H100 80GB only; the node label
  `cloud.google.com/gke-gpu-partition-size: <size>`, each partition one `nvidia.com/gpu` ("Running
  multi-instance GPUs", cloud.google.com/kubernetes-engine/docs/how-to/gpus-multi; partitions per GPU
  from the NVIDIA MIG user guide's profile table that page points to). Time-sharing on top of MIG
  partitions is documented there.
- MPS is refused: GKE's MPS guide ("Share GPUs with multiple workloads using NVIDIA MPS",
  cloud.google.com/kubernetes-engine/docs/how-to/nvidia-mps-gpus) runs its client pods with
  `hostIPC: true` to reach the node's MPS control daemon, and a host namespace is exactly what the team
  namespaces' Pod Security level and the platform's admission policy forbid ("Pod Security Standards",
  Baseline: spec.hostIPC must be unset or false). A pool the teams' pods could never use is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .priorities import SHARED as SHARED_CLASS  # the queue class that runs on sharing pools
from .schema import GpuSharing

SHARING_STRATEGY_LABEL = "cloud.google.com/gke-gpu-sharing-strategy"
MAX_CLIENTS_LABEL = "cloud.google.com/gke-max-shared-clients-per-gpu"
PARTITION_SIZE_LABEL = "cloud.google.com/gke-gpu-partition-size"
MIN_CLIENTS, MAX_CLIENTS = 2, 48

# MIG partition sizes GKE accepts per accelerator, and how many of each fit one GPU.
MIG_PARTITIONS: dict[str, dict[str, int]] = {
    "nvidia-tesla-a100": {"1g.5gb": 7, "2g.10gb": 3, "3g.20gb": 2, "7g.40gb": 1},
    "nvidia-a100-80gb": {"1g.10gb": 7, "2g.20gb": 3, "3g.40gb": 2, "7g.80gb": 1},
    "nvidia-h100-80gb": {"1g.10gb": 7, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "7g.80gb": 1},
}


@dataclass(frozen=True)
class SharingSpec:
    """What one sharing configuration means for the node pool, its flavor and its quota."""

    strategy: Optional[str]
    clients: int  # containers per GPU or per partition (1 without a strategy)
    partition_size: Optional[str]
    partitions: int  # partitions per GPU (1 without MIG)

    @property
    def units_per_gpu(self) -> int:
        """`nvidia.com/gpu` a node advertises per physical GPU."""
        return self.partitions * self.clients

    def node_labels(self) -> dict[str, str]:
        labels = {}
        if self.strategy:
            labels[SHARING_STRATEGY_LABEL] = self.strategy
            labels[MAX_CLIENTS_LABEL] = str(self.clients)
        if self.partition_size:
            labels[PARTITION_SIZE_LABEL] = self.partition_size
        return labels

    def accelerator_args(self) -> dict:
        """The pulumi_gcp `guest_accelerators[]` fields (GKE API: AcceleratorConfig)."""
        args: dict = {}
        if self.partition_size:
            args["gpu_partition_size"] = self.partition_size
        if self.strategy:
            args["gpu_sharing_config"] = {"gpu_sharing_strategy": self.strategy.upper().replace("-", "_"),
                                          "max_shared_clients_per_gpu": self.clients}
        return args


def sharing_spec(accelerator: str, sharing: Optional[GpuSharing]) -> Optional[SharingSpec]:
    """The spec of a valid sharing config (None for whole GPUs); unknown values count as 1 (checks report them)."""
    if sharing is None or not (sharing.strategy or sharing.partition_size):
        return None
    strategy = sharing.strategy.value if sharing.strategy else None
    clients = (sharing.max_shared_clients_per_gpu or 1) if strategy else 1
    partitions = MIG_PARTITIONS.get(accelerator, {}).get(sharing.partition_size, 1) if sharing.partition_size else 1
    return SharingSpec(strategy, clients, sharing.partition_size, partitions)
