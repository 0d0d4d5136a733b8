"""The typed model of the dev stack and what is derived from it: flavors, capacity, NAP limits.

Expected numbers are computed here from the raw YAML (Pulumi.dev.yaml and the machine catalog),
not from the model's own helpers, so a wrong derivation cannot confirm itself.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import yaml
from pydantic import ValidationError

from components.model import Platform, Provisioning, capacity_rows, flavors, nap_limits, nominal_by_flavor, parse_platform
from components.model.catalog import CATALOG_FILE
from components.model.flavors import CAPACITY_KEY, FLAVOR_LABEL, GKE_GPU_TAINT

# What GKE itself puts on nodes (external contract, so spelled out here rather than imported).
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GKE_SPOT_LABEL = "cloud.google.com/gke-spot"
GKE_QUEUED = "cloud.google.com/gke-queued"

CATALOG = yaml.safe_load(CATALOG_FILE.read_text())


@pytest.fixture
def dev(dev_platform_raw) -> Platform:
    return parse_platform(dev_platform_raw)


def pool_nodes(pool: dict) -> int:
    """Most nodes a pool can have: its reservation size, or its autoscaling maximum."""
    return pool["reservedNodes"] if pool["provisioning"] == "reserved" else pool["maxNodes"]


def test_dev_parses_into_the_typed_model(dev):
    assert isinstance(dev, Platform)
    assert dev.project == "my-gpu-batch-dev"
    assert [p.name for p in dev.gpu_pools] == ["l4-reserved", "l4-ondemand", "l4-spot", "l4-dws", "l4-shared"]
    assert [p.provisioning for p in dev.gpu_pools] == [
        Provisioning.RESERVED, Provisioning.ON_DEMAND, Provisioning.SPOT, Provisioning.DWS, Provisioning.ON_DEMAND,
    ]
    assert [t.name for t in dev.teams] == ["team-a", "team-b", "team-c", "team-d"]
    assert dev.teams[0].queues.high[0].borrowing_limit == 2
    assert dev.workload_pool == "my-gpu-batch-dev.svc.id.goog"


def test_model_is_immutable(dev):
    with pytest.raises(ValidationError):
        dev.teams[0].queues.high[0].gpus = 99  # type: ignore[misc]


def test_deletion_protection_defaults_to_on(dev_platform_raw):
    """Only dev switches it off; a stack that says nothing keeps its cluster protected."""
    del dev_platform_raw["cluster"]["deletionProtection"]
    assert parse_platform(dev_platform_raw).cluster.deletion_protection is True


def test_one_flavor_per_pool_and_enabled_nap_shape(dev, dev_platform_raw):
    expected = [p["name"] for p in dev_platform_raw["gpuPools"]]
    expected += [s["name"] for s in dev_platform_raw["nodeAutoProvisioning"]["shapes"]]
    assert list(flavors(dev)) == expected


def test_nap_shapes_are_no_flavors_when_nap_is_disabled(dev_platform_raw):
    dev_platform_raw["nodeAutoProvisioning"] = {"enabled": False}
    for team in dev_platform_raw["teams"]:
        team["queues"].pop("compact")
    assert "a100-compact-spot" not in flavors(parse_platform(dev_platform_raw))


def test_reserved_flavor_capacity_is_reservation_size_times_gpus_per_node(dev, dev_platform_raw):
    pool = dev_platform_raw["gpuPools"][0]
    assert pool["provisioning"] == "reserved"
    flavor = flavors(dev)["l4-reserved"]
    assert flavor.max_nodes == pool["reservedNodes"] == 4
    assert flavor.gpus_per_node == pool["accelerator"]["count"] == 2
    assert flavor.gpus == pool["reservedNodes"] * pool["accelerator"]["count"] == 8


def test_reserved_capacity_follows_reserved_nodes(dev_platform_raw):
    dev_platform_raw["gpuPools"][0]["reservedNodes"] = 6
    assert flavors(parse_platform(dev_platform_raw))["l4-reserved"].gpus == 12


def test_every_flavor_capacity_matches_the_config(dev, dev_platform_raw):
    got = {name: f.gpus for name, f in flavors(dev).items()}
    expected = {p["name"]: pool_nodes(p) * p["accelerator"]["count"] for p in dev_platform_raw["gpuPools"]}
    expected |= {s["name"]: s["maxGpus"] for s in dev_platform_raw["nodeAutoProvisioning"]["shapes"]}
    assert got == expected == {"l4-reserved": 8, "l4-ondemand": 48, "l4-spot": 72, "l4-dws": 16, "l4-shared": 2,
                               "a100-compact-spot": 16}


def _expected_nap_limits(raw: dict) -> tuple[int, int, dict[str, int]]:
    system = raw["cluster"]["systemPool"]
    machine = CATALOG[system["machineType"]]
    cpu, memory = system["maxNodes"] * machine["vcpus"], system["maxNodes"] * machine["memoryGb"]
    gpus: dict[str, int] = defaultdict(int)
    for pool in raw["gpuPools"]:
        m, n = CATALOG[pool["machineType"]], pool_nodes(pool)
        cpu, memory = cpu + n * m["vcpus"], memory + n * m["memoryGb"]
        gpus[pool["accelerator"]["type"]] += n * pool["accelerator"]["count"]
    for shape in raw["nodeAutoProvisioning"]["shapes"]:
        m, n = CATALOG[shape["machineType"]], shape["maxGpus"] // shape["accelerator"]["count"]
        cpu, memory = cpu + n * m["vcpus"], memory + n * m["memoryGb"]
        gpus[shape["accelerator"]["type"]] += shape["maxGpus"]
    return cpu, memory, dict(gpus)


def test_nap_limits_cover_every_pool_maximum_nap_shapes_and_the_system_pool(dev, dev_platform_raw):
    limits = nap_limits(dev)
    cpu, memory, gpus = _expected_nap_limits(dev_platform_raw)
    assert limits.gpus == gpus
    # The reference capped nvidia-l4 at 32 while its own pools reach far more; here: 8 + 48 + 72 + 16 + 2
    # (NAP limits count physical GPUs, also of the time-shared pool).
    assert limits.gpus["nvidia-l4"] == 146
    assert limits.gpus["nvidia-tesla-a100"] == 16
    assert (limits.cpu, limits.memory_gb) == (cpu, memory)
    system_cpu = 6 * CATALOG["e2-standard-4"]["vcpus"]
    assert limits.cpu - system_cpu == sum(f.vcpus for f in flavors(dev).values())


def test_nap_limits_grow_with_a_new_pool(dev_platform_raw):
    before = nap_limits(parse_platform(dev_platform_raw))
    dev_platform_raw["gpuPools"].append({
        "name": "a100-ondemand", "machineType": "a2-highgpu-2g", "accelerator": {"type": "nvidia-tesla-a100", "count": 2},
        "provisioning": "on-demand", "maxNodes": 3,
    })
    after = nap_limits(parse_platform(dev_platform_raw))
    assert after.gpus["nvidia-tesla-a100"] == before.gpus["nvidia-tesla-a100"] + 6
    assert after.gpus["nvidia-l4"] == before.gpus["nvidia-l4"]
    assert after.cpu == before.cpu + 3 * CATALOG["a2-highgpu-2g"]["vcpus"]
    assert after.memory_gb == before.memory_gb + 3 * CATALOG["a2-highgpu-2g"]["memoryGb"]


def test_nominal_quotas_fit_each_flavor_in_dev(dev, dev_platform_raw):
    promised: dict[str, int] = defaultdict(int)
    for team in dev_platform_raw["teams"]:
        for entries in team["queues"].values():
            for entry in entries:
                promised[entry["flavor"]] += entry["gpus"]
    promised[dev_platform_raw["dws"]["flavor"]] += dev_platform_raw["dws"]["gpus"]
    assert nominal_by_flavor(dev) == dict(promised)
    supply = flavors(dev)
    for name, gpus in promised.items():
        # Quotas count nvidia.com/gpu; a time-shared node advertises GPUs x clients of it (GKE "About GPU
        # sharing strategies in GKE"): l4-shared is 2 nodes x 1 L4 x 4 clients = 8 units.
        assert gpus <= supply[name].gpu_units, f"{name}: {gpus} promised, {supply[name].gpu_units} exist"
    assert promised["l4-shared"] == supply["l4-shared"].gpu_units == 8
    # The reference promised 16 reserved GPUs for 8 physical ones; dev promises exactly 8.
    assert promised["l4-reserved"] == supply["l4-reserved"].gpus == 8


def test_capacity_table_rows(dev):
    rows = {r["flavor"]: r for r in capacity_rows(dev)}
    assert list(rows) == list(flavors(dev))
    assert rows["l4-reserved"] == {
        "flavor": "l4-reserved", "capacity": "reserved", "machine": "g2-standard-24", "accelerator": "2 x nvidia-l4",
        "nodes": "4 (reserved)", "gpus": 8, "nominal_gpus": 8,
    }
    assert rows["l4-spot"]["nodes"] == "0..36"
    assert rows["a100-compact-spot"]["nodes"] == "NAP 0..16"
    assert all(r["nominal_gpus"] <= r["gpus"] for r in rows.values())


def test_spot_flavors_carry_gke_spot_label(dev):
    all_flavors = flavors(dev)
    assert all_flavors["l4-spot"].node_labels[GKE_SPOT_LABEL] == "true"
    assert all_flavors["a100-compact-spot"].node_labels[GKE_SPOT_LABEL] == "true"
    for name in ("l4-reserved", "l4-ondemand", "l4-dws"):
        assert GKE_SPOT_LABEL not in all_flavors[name].node_labels, name


def test_every_gpu_flavor_carries_gkes_gpu_taint_with_value_present(dev):
    assert (GKE_GPU_TAINT.key, GKE_GPU_TAINT.value, GKE_GPU_TAINT.effect) == ("nvidia.com/gpu", "present", "NoSchedule")
    for flavor in flavors(dev).values():
        gpu_taints = [t for t in flavor.node_taints if t.key == "nvidia.com/gpu"]
        assert [(t.value, t.effect) for t in gpu_taints] == [("present", "NoSchedule")], flavor.name
        assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in flavor.tolerations


def test_every_flavor_has_its_own_capacity_taint_and_labels(dev):
    for flavor in flavors(dev).values():
        assert flavor.own_labels[CAPACITY_KEY] == flavor.capacity
        assert [(t.key, t.value) for t in flavor.own_taints] == [(CAPACITY_KEY, flavor.capacity)]
        assert flavor.node_labels[GKE_ACCELERATOR_LABEL] == flavor.accelerator
        if not flavor.is_nap:
            assert flavor.own_labels[FLAVOR_LABEL] == flavor.name


def test_dws_flavor_tolerates_gkes_queued_provisioning_taint(dev):
    flavor = flavors(dev)["l4-dws"]
    assert (GKE_QUEUED, "true", "NoSchedule") in [(t.key, t.value, t.effect) for t in flavor.node_taints]
    assert {"key": GKE_QUEUED, "operator": "Equal", "value": "true", "effect": "NoSchedule"} in flavor.tolerations
    for name, other in flavors(dev).items():
        if name != "l4-dws":
            assert GKE_QUEUED not in {t.key for t in other.node_taints}, name


def test_labels_taints_and_tolerations_come_from_one_place(dev):
    for flavor in flavors(dev).values():
        labels = flavor.node_labels
        assert flavor.own_labels.items() <= labels.items(), flavor.name
        assert flavor.gke_labels.items() <= labels.items(), flavor.name
        assert set(flavor.own_taints) <= set(flavor.node_taints), flavor.name
        assert set(flavor.gke_taints) <= set(flavor.node_taints), flavor.name
        assert flavor.tolerations == [t.toleration() for t in flavor.node_taints]
        # Every taint the nodes carry is tolerated, with the exact value (no `Exists` guesswork).
        assert {(t["key"], t["value"], t["effect"]) for t in flavor.tolerations} == {
            (t.key, t.value, t.effect) for t in flavor.node_taints
        }
        for taint in flavor.node_taints:
            assert taint.for_kubernetes()["value"] == taint.value
            assert taint.for_gke()["effect"] == {"NoSchedule": "NO_SCHEDULE"}[taint.effect]


def test_each_flavors_labels_select_only_its_own_nodes(dev):
    """A ResourceFlavor selects nodes by its labels; no flavor's labels may also match another flavor's nodes."""
    all_flavors = list(flavors(dev).values())
    for a in all_flavors:
        for b in all_flavors:
            if a is not b:
                assert not a.node_labels.items() <= b.node_labels.items(), f"{a.name}'s labels also match {b.name}'s nodes"


def test_queue_classes_use_only_their_capacity_types(dev):
    capacity = {name: f.capacity for name, f in flavors(dev).items()}
    allowed = {"high": {"reserved", "on-demand"}, "low": {"reserved", "spot"}, "compact": {"compact"}}
    for team in dev.teams:
        for cls, kinds in allowed.items():
            assert {capacity[q.flavor] for q in getattr(team.queues, cls)} <= kinds, (team.name, cls)
