"""GPU pools over their life: how a replacement really runs on GKE, the driver rollout docs/operating.md
documents, and the NIC GPU nodes need.

Sources encoded:
- GKE "Ensure resources for node upgrades" (cloud.google.com/kubernetes-engine/docs/how-to/node-upgrades-quota):
  nodes of a pool with specific reservation affinity count against the reservation's capacity. The
  reserved pool consumes its SPECIFIC_RESERVATION in full (reservedNodes = reservation count), so a
  successor pool created first gets no reserved machine and its creation times out: the reserved pool
  must be replaced delete-first (Pulumi `deleteBeforeReplace`), and the review must say capacity drops.
- terraform-provider-google node_pool: `node_config.guest_accelerator` (with the driver installation
  config) is ForceNew (hashicorp/terraform-provider-google#23248; components/review/replace.py), so a
  driver change replaces a pool; the rollout without a gap is a second pool, then removing the first.
- GKE "Increase network traffic speed for GPU nodes" (cloud.google.com/kubernetes-engine/docs/how-to/using-gvnic):
  gVNIC on GPU node pools (`--enable-gvnic`), COS node images required (the pools use GKE's default COS);
  NAP's auto-provisioning defaults have no gVNIC field (pulumi-gcp 10.2.0
  ClusterClusterAutoscalingAutoProvisioningDefaults: bootDiskKmsKey, diskSize, diskType, imageType,
  management, minCpuPlatform, oauthScopes, serviceAccount, shieldedInstanceConfig, upgradeSettings).
"""

from __future__ import annotations

import copy

from components.model import parse_platform
from components.plan import replacement_lines
from components.review import compare
from components.review.capacity import pool_gpus
from components.review.plans import Plan
from components.review.report import render
from conftest import PLATFORM_KEY, capture_of, config_with, load_dev_config

NODE_POOL = "gcp:container/nodePool:NodePool"
DRIVER = "nodeConfig.guestAccelerators[0].gpuDriverInstallationConfig.gpuDriverVersion"


def _pool(raw: dict, name: str) -> dict:
    return next(p for p in raw["gpuPools"] if p["name"] == name)


def _plan_of(mutate=None):
    config = config_with(mutate)
    return config, capture_of(config).to_json()


def test_reserved_pool_is_replaced_delete_first_with_the_gap_said_loudly(dev_capture):
    _, after = _plan_of(lambda p: _pool(p, "l4-reserved").update(gpuDriver="LATEST"))
    pools = {r["name"]: r for r in after if r["type"] == NODE_POOL}
    assert pools["l4-reserved-pool"]["options"]["deleteBeforeReplace"] is True
    # Every other GPU pool keeps create-first: its successor needs no capacity that the old one holds.
    assert not [n for n, r in pools.items() if n != "l4-reserved-pool" and r["options"]["deleteBeforeReplace"]]

    diff = compare(dev_capture.to_json(), after)
    [change] = diff.of("replace")
    assert change.name == "l4-reserved-pool"
    assert change.gap.startswith("CAPACITY GAP: its 8 reserved GPUs are gone from the delete until the new pool's nodes are up")
    lines = replacement_lines(dev_capture.to_json(), capture_of(config_with(
        lambda p: _pool(p, "l4-reserved").update(gpuDriver="LATEST"))))
    assert lines == [f"REPLACE {NODE_POOL} l4-reserved-pool: nodeConfig.guestAccelerators changed; the OLD one is "
                     f"deleted FIRST. {change.gap}"]


def test_the_review_comment_puts_the_gap_above_the_tables(dev_capture):
    config, after = _plan_of(lambda p: _pool(p, "l4-reserved").update(gpuDriver="LATEST"))
    text = render(Plan("main", "dev", dev_capture.to_json(), load_dev_config()), Plan("change", "dev", after, config))
    assert "> ⚠ `l4-reserved-pool`: CAPACITY GAP: its 8 reserved GPUs" in text
    assert text.index("CAPACITY GAP") < text.index("#### Replaced")


def test_a_pools_own_driver_overrides_the_stack_default(dev_capture):
    _, after = _plan_of(lambda p: _pool(p, "l4-spot").update(gpuDriver="LATEST"))
    drivers = {r["name"]: r["inputs"]["nodeConfig"]["guestAccelerators"][0]["gpuDriverInstallationConfig"]["gpuDriverVersion"]
               for r in after if r["type"] == NODE_POOL and r["name"] != "system-pool"}
    assert drivers.pop("l4-spot-pool") == "LATEST"
    assert set(drivers.values()) == {"DEFAULT"}
    [change] = compare(dev_capture.to_json(), after).of("replace")
    assert change.name == "l4-spot-pool" and change.gap is None


def test_driver_rollout_through_a_second_pool_never_drops_capacity(dev_capture):
    """docs/operating.md "Upgrading", GPU drivers: add a pool with the new driver and put it first in the queues,
    then take the old flavor out of the queues (new work lands on the new driver; running jobs finish),
    then remove the old pool. Each step is one reviewed `diff`: nothing is replaced, no capacity drops."""
    def add_next_pool(p):
        old = _pool(p, "l4-ondemand")
        p["gpuPools"].append({**copy.deepcopy(old), "name": "l4-ondemand-next", "gpuDriver": "LATEST"})
        for team in p["teams"]:
            for quotas in team["queues"].values():  # every queue that lists the old flavor (high, serving)
                at = next((i for i, q in enumerate(quotas) if q["flavor"] == "l4-ondemand"), None)
                if at is not None:
                    quotas.insert(at, {**quotas[at], "flavor": "l4-ondemand-next"})

    def drain_old_flavor(p):
        add_next_pool(p)
        for team in p["teams"]:
            for cls, quotas in team["queues"].items():
                team["queues"][cls] = [q for q in quotas if q["flavor"] != "l4-ondemand"]

    def remove_old_pool(p):
        drain_old_flavor(p)
        p["gpuPools"] = [q for q in p["gpuPools"] if q["name"] != "l4-ondemand"]

    steps = [load_dev_config()] + [config_with(m) for m in (add_next_pool, drain_old_flavor, remove_old_pool)]
    for config in steps:
        parse_platform(config[PLATFORM_KEY])  # every intermediate config is a valid stack
    plans = [capture_of(c).to_json() for c in steps]
    on_demand_l4 = [sum(g for name, g in pool_gpus(plan).items() if "ondemand" in name) for plan in plans]
    assert on_demand_l4[0] == 48 and min(on_demand_l4) >= 48

    for before, after in zip(plans, plans[1:]):
        diff = compare(before, after)
        assert not diff.of("replace")
    deleted_pools = [c.name for c in compare(plans[2], plans[3]).of("delete") if c.type == NODE_POOL]
    assert deleted_pools == ["l4-ondemand-pool"]
    new_pool = next(r for r in plans[3] if r["name"] == "l4-ondemand-next-pool")
    assert new_pool["inputs"]["nodeConfig"]["guestAccelerators"][0]["gpuDriverInstallationConfig"] == {
        "gpuDriverVersion": "LATEST"}


def test_gpu_pools_use_gvnic_and_the_system_pool_does_not_need_it(dev_capture):
    for r in dev_capture.of_type(NODE_POOL):
        gvnic = r.inputs["nodeConfig"].get("gvnic")
        assert gvnic == ({"enabled": True} if r.name != "system-pool" else None), r.name
