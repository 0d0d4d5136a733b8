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
from typing import Iterator, Optional, Union

from .errors import Issue
from .priorities import SHARED as SHARED_CLASS  # the queue class that runs on sharing pools
from .schema import GpuPool, GpuSharing, NapShape, Platform, Provisioning, SharingStrategy

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


def _shape_issues(path: str, shape: Union[GpuPool, NapShape]) -> Iterator[Issue]:
    sharing = shape.accelerator.sharing
    if sharing is None:
        return
    at = f"{path}.accelerator.sharing"
    gpu = shape.accelerator.type
    if sharing.strategy is SharingStrategy.MPS:
        yield Issue(f"{at}.strategy", "MPS clients need hostIPC: true to reach the node's MPS daemon (GKE's MPS "
                    "guide), which Pod Security forbids in every team namespace, so no team job could use the pool",
                    "use strategy: time-sharing", example="time-sharing")
    if sharing.strategy and sharing.max_shared_clients_per_gpu is None:
        yield Issue(f"{at}.maxSharedClientsPerGpu", f"strategy {sharing.strategy.value} needs the number of containers per GPU",
                    f"set maxSharedClientsPerGpu ({MIN_CLIENTS}..{MAX_CLIENTS})")
    if sharing.max_shared_clients_per_gpu is not None:
        if not sharing.strategy:
            yield Issue(f"{at}.strategy", "maxSharedClientsPerGpu is set but no sharing strategy",
                        "set strategy: time-sharing, or remove maxSharedClientsPerGpu")
        if not MIN_CLIENTS <= sharing.max_shared_clients_per_gpu <= MAX_CLIENTS:
            yield Issue(f"{at}.maxSharedClientsPerGpu",
                        f"{sharing.max_shared_clients_per_gpu} is outside GKE's {MIN_CLIENTS}..{MAX_CLIENTS} containers per GPU",
                        f"use {MIN_CLIENTS}..{MAX_CLIENTS}")
    if sharing.partition_size:
        sizes = MIG_PARTITIONS.get(gpu)
        if sizes is None:
            yield Issue(f"{at}.partitionSize", f"{gpu} has no multi-instance GPU partitions (GKE offers MIG on "
                        f"{', '.join(MIG_PARTITIONS)} only)",
                        "remove partitionSize and use strategy time-sharing, or pick an A100/H100 machine")
        elif sharing.partition_size not in sizes:
            yield Issue(f"{at}.partitionSize", f"{gpu} offers no {sharing.partition_size!r} partition",
                        f"use one of: {', '.join(sizes)}")
    if not (sharing.strategy or sharing.partition_size or sharing.max_shared_clients_per_gpu):
        yield Issue(at, "an empty sharing section shares nothing", "set strategy and maxSharedClientsPerGpu, or partitionSize, or remove it")
    if isinstance(shape, GpuPool) and shape.provisioning in (Provisioning.RESERVED, Provisioning.DWS):
        why = ("the reservation describes whole-GPU machines that the high and low queues count as whole GPUs"
               if shape.provisioning is Provisioning.RESERVED
               else "DWS provisions whole nodes for one job's request")
        yield Issue(at, f"a {shape.provisioning.value} pool cannot be shared: {why}",
                    "declare sharing on an on-demand or spot pool of its own")
    if isinstance(shape, NapShape):
        if shape.compact_placement:
            yield Issue(at, "a compact-placement shape places multi-node jobs close together; shared GPUs serve "
                            "single-container jobs", "use a static on-demand or spot pool for sharing")
        elif sharing.partition_size:
            yield Issue(f"{at}.partitionSize", "MIG partitions are declared on static node pools on this platform "
                        "(the partition layout is fixed when GKE creates the pool)", "declare a static pool with partitionSize")


def sharing_issues(p: Platform) -> Iterator[Issue]:
    """Bad sharing configs, and queues whose class does not match the pool's sharing (whole-GPU classes
    never list a sharing pool, the shared class lists nothing else)."""
    from .flavors import flavors  # flavors imports this module

    for i, pool in enumerate(p.gpu_pools):
        yield from _shape_issues(f"gpuPools[{i}]", pool)
    for i, shape in enumerate(p.node_auto_provisioning.shapes):
        yield from _shape_issues(f"nodeAutoProvisioning.shapes[{i}]", shape)
    all_flavors = flavors(p)
    for t, team in enumerate(p.teams):
        for cls, quotas in team.queues.by_class():
            for q, quota in enumerate(quotas):
                flavor = all_flavors.get(quota.flavor)
                if flavor is None:
                    continue  # reported by the queue checks
                path = f"teams[{t}].queues.{cls}[{q}].flavor"
                if cls == SHARED_CLASS and flavor.sharing is None:
                    yield Issue(path, f"{quota.flavor!r} has whole GPUs; the shared class runs on GPU sharing pools only",
                                "list a pool with accelerator.sharing, or move this quota to high/low")
                elif cls != SHARED_CLASS and flavor.sharing is not None:
                    yield Issue(path, f"{quota.flavor!r} shares its GPUs ({flavor.units_per_gpu} containers per GPU); "
                                f"the {cls} class promises whole GPUs", "move this quota to the shared class")
    if p.dws and p.dws.flavor in all_flavors and all_flavors[p.dws.flavor].sharing is not None:
        yield Issue("dws.flavor", f"{p.dws.flavor!r} shares its GPUs", "use a whole-GPU dws pool")
