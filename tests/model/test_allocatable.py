"""Design decision D4 (docs/design.md): queue cpu/memory quotas come from node allocatable, so a job
sized to its quota fits a node.

GKE "Plan GKE Standard node sizes", memory and CPU reservations
(https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes#memory_and_cpu_reservations),
restated here independently of components/model/allocatable.py.
"""

from __future__ import annotations

from decimal import Decimal

from components.model import flavors, gpu_node_allocatable, parse_platform
from components.model.allocatable import gke_reserved, kubelet_allocatable, node_overhead
from components.model.catalog import machine_types
from conftest import PLATFORM_KEY, load_stack_config

KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:"


def _gke_doc_allocatable(vcpus: int, memory_gib: int) -> tuple[Decimal, Decimal]:
    """Millicores and MiB by the documented table, written out tier by tier."""
    cpu_reserved = Decimal("60") + (10 if vcpus > 1 else 0) + Decimal("5") * min(max(vcpus - 2, 0), 2) \
        + Decimal("2.5") * max(vcpus - 4, 0)
    gib = Decimal(memory_gib)
    tiers = [(4, "0.25"), (4, "0.20"), (8, "0.10"), (112, "0.06"), (10**9, "0.02")]
    mem_reserved, rest = Decimal(0), gib
    for size, share in tiers:
        part = min(rest, size)
        mem_reserved += part * Decimal(share)
        rest -= part
    return vcpus * 1000 - cpu_reserved, (gib - mem_reserved) * 1024 - 100  # 100 MiB eviction threshold


def test_reservation_matches_gkes_table_and_example():
    """CPU: 6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% above 4. Memory: 25% of the first
    4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above 128, plus 100 MiB eviction.
    GKE's worked example on the same page: an e2-standard-4 node reports allocatable cpu 3920m and
    memory 13498416Ki; ours must not promise more."""
    for name, machine in machine_types().items():
        cpu, memory = _gke_doc_allocatable(machine.vcpus, machine.memory_gb)
        plain = kubelet_allocatable(machine, image_streaming=False, kernel_share=False)
        assert plain.cpu_millis == int(cpu.to_integral_value(rounding="ROUND_FLOOR")), name
        assert abs(plain.memory_mib - memory) < 1, name
    e2 = machine_types()["e2-standard-4"]
    assert kubelet_allocatable(e2, image_streaming=False).cpu_millis == 3920
    assert kubelet_allocatable(e2, image_streaming=False).memory_mib <= 13498416 // 1024
    # a3-highgpu-8g (1872 GiB): 1 + 0.8 + 0.8 + 6.72 + 34.88 = 44.2 GiB, plus the eviction threshold.
    assert gke_reserved(machine_types()["a3-highgpu-8g"], image_streaming=False).memory_mib == 45261 + 100


def test_per_gpu_quota_times_gpus_per_node_fits_one_node_of_every_flavor(stack_capture):
    """The issue's check: for every flavor, the cpu/memory quota per GPU (read from the ClusterQueues the
    program applies) x GPUs per node <= what one node of that machine offers pods (GKE allocatable less
    the GPU-node DaemonSets of platform/catalog/gpu_node_overhead.yaml). Raw machine size fails this."""
    model = flavors(parse_platform(load_stack_config(stack_capture.stack)[PLATFORM_KEY]))
    seen = set()
    for cq in stack_capture.of_type(KUEUE + "ClusterQueue"):
        for group in cq.inputs["spec"]["resourceGroups"]:
            for fq in group["flavors"]:
                res = {r["name"]: r for r in fq["resources"]}
                gpus = int(res["nvidia.com/gpu"]["nominalQuota"])
                if not gpus:
                    continue
                flavor = model[fq["name"]]
                node = gpu_node_allocatable(flavor.machine)
                cpu = _millis(res["cpu"]["nominalQuota"]) / gpus * flavor.gpus_per_node
                mem = _mib(res["memory"]["nominalQuota"]) / gpus * flavor.gpus_per_node
                assert cpu <= node.cpu_millis and mem <= node.memory_mib, (cq.inputs["metadata"]["name"], fq["name"])
                # ...and to the documented allocatable itself, independent of our implementation.
                doc_cpu, doc_mem = _gke_doc_allocatable(flavor.machine.vcpus, flavor.machine.memory_gb)
                assert cpu <= doc_cpu and mem <= doc_mem
                seen.add(fq["name"])
    assert seen == set(model)


def test_gpu_node_daemonsets_are_named_with_requests():
    overhead = node_overhead()
    names = {d.name for d in overhead.daemonsets}
    assert {"nvidia-gpu-device-plugin", "gke-metadata-server", "anetd", "fluentbit-gke"} <= names
    assert all(d.requests.cpu_millis > 0 and d.requests.memory_mib > 0 and d.why for d in overhead.daemonsets)


def _millis(quantity: str) -> Decimal:
    return Decimal(quantity[:-1]) if quantity.endswith("m") else Decimal(quantity) * 1000


def _mib(quantity: str) -> Decimal:
    units = {"Mi": 1, "Gi": 1024, "Ki": Decimal(1) / 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return Decimal(quantity[: -len(suffix)]) * factor
    return Decimal(quantity) / (1024 * 1024)
