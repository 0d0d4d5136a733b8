"""The GPU sharing rules (components/model/sharing.py says what GKE documents): bad sharing configs, and
queues whose class does not match the pool's sharing."""

from __future__ import annotations

from typing import Iterator, Union

from .errors import Issue
from .flavors import flavors
from .schema import GpuPool, NapShape, Platform, Provisioning, SharingStrategy
from .sharing import MAX_CLIENTS, MIG_PARTITIONS, MIN_CLIENTS, SHARED_CLASS


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
