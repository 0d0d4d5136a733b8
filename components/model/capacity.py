"""Capacity arithmetic shared by the checks, the NAP limits and the offline plan's table."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .catalog import machine_types
from .flavors import Flavor, flavors
from .ledger import QueueQuota, ledger
from .schema import Platform


def quota_uses(platform: Platform) -> list[QueueQuota]:
    """Every nominal GPU quota the platform hands out, team queues and the shared DWS queue."""
    return ledger(platform).entries


def nominal_by_flavor(platform: Platform) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for use in quota_uses(platform):
        totals[use.flavor] += use.nominal
    return dict(totals)


@dataclass(frozen=True)
class NapLimits:
    """Cluster-wide autoscaler limits. GKE counts *every* node against them, static pools included,
    so they are the sum of all pools' maxima plus the NAP allowances (the reference's were too small)."""

    cpu: int
    memory_gb: int
    gpus: dict[str, int]


def nap_limits(platform: Platform) -> NapLimits:
    system = platform.cluster.system_pool
    system_machine = machine_types()[system.machine_type]
    cpu = system.max_nodes * system_machine.vcpus
    memory = system.max_nodes * system_machine.memory_gb
    gpus: dict[str, int] = defaultdict(int)
    for flavor in flavors(platform).values():
        cpu += flavor.vcpus
        memory += flavor.memory_gb
        gpus[flavor.accelerator] += flavor.gpus
    return NapLimits(cpu=cpu, memory_gb=memory, gpus=dict(gpus))


def capacity_rows(platform: Platform) -> list[dict]:
    """The capacity table: per flavor, what the pool supplies and what the queues promise."""
    nominal = nominal_by_flavor(platform)
    rows = []
    for flavor in flavors(platform).values():
        rows.append(
            {
                "flavor": flavor.name,
                "capacity": flavor.capacity,
                "machine": flavor.machine.name,
                "accelerator": f"{flavor.gpus_per_node} x {flavor.accelerator}"
                               + (f" shared by {flavor.units_per_gpu}" if flavor.sharing else ""),
                "nodes": _node_range(flavor),
                "gpus": flavor.gpu_units,
                "nominal_gpus": nominal.get(flavor.name, 0),
            }
        )
    return rows


def _node_range(flavor: Flavor) -> str:
    if flavor.is_nap:
        return f"NAP 0..{flavor.max_nodes}"
    pool = flavor.source
    if flavor.capacity == "reserved":
        return f"{flavor.max_nodes} (reserved)"
    return f"{pool.min_nodes}..{pool.max_nodes}"
