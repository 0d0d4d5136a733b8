"""Cost envelope: exact numbers for a small config priced with round test prices, the billing rules
they encode (each test names its source), unpriced lines, the catalog's validation, the dev stack's
envelope as the README and docs/operating.md state it, and the cost subcommand.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from components.cli import main as cli
from components.cost import budget_checks, cost_delta, cost_json, cost_text, stack_envelope, team_costs
from components.model import ConfigError, parse_platform
from components.model.catalog import machine_types
from components.model.prices import PRICES_FILE, parse_catalog, price_catalog
from components.capture import PROJECT, REPO, read_config_file
from conftest import load_dev_platform_raw

PROV = {"source": "https://example.test/prices", "date": "2026-12-01", "evidence": "unverified"}
# Round prices so every number below is computed by hand; the structure is the shipped catalog's.
TEST_CATALOG = {
    "currency": "USD",
    "hoursPerMonth": 730,
    "machineTypes": {
        "g2-standard-24": {**PROV, "regions": {"us-central1": {"onDemand": 2.0, "spot": 0.8, "commit1y": 1.2, "commit3y": 0.9}}},
        "a2-highgpu-1g": {**PROV, "regions": {"us-central1": {"onDemand": 4.0, "spot": 1.5, "commit1y": 2.5, "commit3y": 1.5}}},
        "e2-standard-4": {**PROV, "regions": {"us-central1": {"onDemand": 0.1, "spot": 0.04, "commit1y": 0.07, "commit3y": 0.05}}},
    },
    "gke": {**PROV, "clusterFeePerHour": 0.10},
    "nat": {**PROV, "perVmHour": 0.0014, "vmCap": 32, "cappedPerHour": 0.044, "perGiB": 0.045,
            "externalIpPerHour": 0.005, "ipSource": "https://example.test/ip"},
    "disks": {"bootDiskGiB": 100, "bootDiskSource": "https://example.test/disk",
              "types": {"pd-balanced": [{**PROV, "regions": {"us-central1": 0.10}}]}},
}


def small_raw() -> dict:
    """System pool 1..2 x e2-standard-4; 1 reserved g2-standard-24 (2 L4); spot g2-standard-24 0..2;
    NAP spot a2-highgpu-1g up to 2 GPUs; one team in its own cohort."""
    raw = load_dev_platform_raw()
    raw["cluster"]["systemPool"] = {"machineType": "e2-standard-4", "minNodes": 1, "maxNodes": 2}
    l4 = {"machineType": "g2-standard-24", "accelerator": {"type": "nvidia-l4", "count": 2}}
    raw["gpuPools"] = [
        {"name": "l4-reserved", **l4, "provisioning": "reserved", "zones": ["us-central1-c"], "reservedNodes": 1},
        {"name": "l4-spot", **l4, "provisioning": "spot", "maxNodes": 2},
    ]
    raw["nodeAutoProvisioning"]["shapes"] = [{"name": "a100-compact-spot", "machineType": "a2-highgpu-1g",
                                              "accelerator": {"type": "nvidia-tesla-a100", "count": 1}, "maxGpus": 2}]
    raw.pop("dws")
    raw["teams"] = [{"name": "team-a", "cohort": "c", "queues": {
        "high": [{"flavor": "l4-reserved", "gpus": 2}],
        "low": [{"flavor": "l4-reserved", "gpus": 0, "borrowingLimit": 2}, {"flavor": "l4-spot", "gpus": 4}],
        "compact": [{"flavor": "a100-compact-spot", "gpus": 2}]}}]
    return raw


@pytest.fixture(scope="module")
def catalog():
    return parse_catalog(TEST_CATALOG)


@pytest.fixture(scope="module")
def small():
    return parse_platform(small_raw())


def lines(total) -> dict[str, float]:
    return {line.item: round(line.monthly, 6) for line in total.lines}


def test_idle_floor_exact(small, catalog):
    """Idle floor = what bills with no job running.

    GKE: "$0.10 per cluster per hour"; the free tier's credit "cannot be applied to ... the cluster fee
    for Regional clusters" (cloud.google.com/kubernetes-engine/pricing). Reservations: "reserved
    resources are charged ... at the same on-demand rate ... whether or not" VMs use them
    (cloud.google.com/compute/docs/instances/reservations-overview, billing). Cloud NAT: per VM-hour
    up to 32 VMs (cloud.google.com/nat/pricing). Boot disks: 100 GB when no size is set
    (gcloud container node-pools create --disk-size). A month is 730 hours (Google's calculator)."""
    env = stack_envelope(small, "small", catalog)
    assert lines(env.idle) == {
        "control plane": 73.0,                  # 0.10 x 730
        "system pool (min)": 73.0,              # 1 x 0.10 x 730
        "l4-reserved (reserved)": 1460.0,       # 1 x 2.00 x 730, billed used or not
        "boot disks": 20.0,                     # 2 nodes x 100 GiB x 0.10
        "Cloud NAT gateway": 2.044,             # 2 VMs x 0.0014 x 730
        "Cloud NAT IP": 3.65,                   # 1 x 0.005 x 730
    }
    assert round(env.idle.monthly, 6) == 1631.694 and env.idle.complete


def test_burst_exact(small, catalog):
    """Burst = every pool at its maximum and every NAP shape at its allowance, each at the price its
    provisioning model bills (spot pools and spot NAP shapes at the spot price)."""
    env = stack_envelope(small, "small", catalog)
    assert lines(env.burst) == {
        "control plane": 73.0,
        "system pool (max)": 146.0,             # 2 x 0.10 x 730
        "l4-reserved (reserved)": 1460.0,
        "l4-spot (spot)": 1168.0,               # 2 x 0.80 x 730
        "a100-compact-spot (NAP compact)": 2190.0,  # 2 x 1.50 x 730
        "boot disks": 70.0,                     # 7 nodes x 10
        "Cloud NAT gateway": 7.154,             # 7 x 0.0014 x 730
        "Cloud NAT IP": 3.65,
    }
    assert round(env.burst.monthly, 6) == 5117.804
    assert lines(env.spot_saving) == {"l4-spot (spot)": 1752.0,        # 2 x (2.00 - 0.80) x 730
                                      "a100-compact-spot (NAP compact)": 3650.0}  # 2 x (4.00 - 1.50) x 730


def test_nat_flat_rate_above_32_vms(small, catalog):
    """Cloud NAT: above 32 VMs a gateway bills a flat hourly rate (cloud.google.com/nat/pricing)."""
    raw = small_raw()
    raw["gpuPools"][1]["maxNodes"] = 40
    env = stack_envelope(parse_platform(raw), "x", catalog)
    assert lines(env.burst)["Cloud NAT gateway"] == round(0.044 * 730, 6)


def test_team_quota_cost_exact(small, catalog):
    """A GPU costs its node's price over the node's GPUs. Borrowing: a ClusterQueue may borrow at most its
    borrowingLimit, and never more than the other queues of its cohort own nominally (Kueue
    site/content/en/docs/concepts/cluster_queue.md, "Borrowing limit"); unset means up to what they own."""
    (team,) = team_costs(small, catalog)
    per_gpu = {(q.queue, q.flavor): (q.gpus, q.borrowable, round(q.gpu_month, 6)) for q in team.quotas}
    assert per_gpu == {
        ("team-a/high", "l4-reserved"): (2, 0, 730.0),          # 2.00 / 2 GPUs x 730; low owns 0 to lend
        ("team-a/low", "l4-reserved"): (0, 2, 730.0),           # borrows high's 2
        ("team-a/low", "l4-spot"): (4, 0, 292.0),               # 0.80 / 2 x 730
        ("team-a/compact", "a100-compact-spot"): (2, 0, 1095.0),  # 1.50 x 730
    }
    assert (round(team.nominal, 6), round(team.borrowing, 6), round(team.burst, 6)) == (4818.0, 1460.0, 6278.0)
    assert round(team.spot_saving, 6) == 5402.0  # 4 x (730 - 292) + 2 x (2920 - 1095)


def test_budget_checks_pass_and_fail(catalog):
    raw = small_raw()
    raw["monthlyBudgetUsd"] = 6000        # burst 5,117.80 fits
    raw["teams"][0]["monthlyBudgetUsd"] = 6000  # team burst 6,278.00 does not
    checks = {c.scope: c for c in budget_checks(parse_platform(raw), catalog)}
    assert not checks["stack"].over
    assert checks["team team-a"].over
    assert checks["team team-a"].message() == (
        "team team-a: burst $6,278.00/month vs budget $6,000.00/month: exceeds it by $278.00")


def test_cost_delta_of_one_more_spot_node(small, catalog):
    raw = small_raw()
    raw["gpuPools"][1]["maxNodes"] = 3
    delta = cost_delta(small, parse_platform(raw), catalog)
    assert delta["idle"]["deltaMonthlyUsd"] == 0
    assert delta["burst"]["deltaMonthlyUsd"] == 595.02  # 0.80 x 730 + 10 (disk) + 0.0014 x 730 (NAT)


def test_unknown_region_is_unpriced_never_zero(catalog):
    raw = small_raw()
    raw.update(region="europe-west1", zones=["europe-west1-b"])
    raw["gpuPools"][0]["zones"] = ["europe-west1-b"]
    platform = parse_platform(raw)
    env = stack_envelope(platform, "eu", catalog)
    unpriced = {line.item: line.unpriced for line in env.burst.unpriced}
    assert "no price for g2-standard-24 in region europe-west1" in unpriced["l4-spot (spot)"]
    assert "add europe-west1 under machineTypes.g2-standard-24.regions" in unpriced["l4-spot (spot)"]
    assert not env.burst.complete and not env.idle.complete
    text = "\n".join(cost_text(platform, "eu", catalog))
    assert "LOWER BOUND" in text and "UNPRICED" in text
    data = cost_json(platform, "eu", catalog)
    spot_line = next(x for x in data["burst"]["lines"] if x["item"] == "l4-spot (spot)")
    assert spot_line["monthlyUsd"] is None and data["burst"]["complete"] is False
    assert all(q["gpuMonthUsd"] is None for q in data["queues"])


def test_machine_type_without_price_is_unpriced(catalog):
    raw = small_raw()
    raw["gpuPools"][1].update(machineType="g2-standard-48", accelerator={"type": "nvidia-l4", "count": 4})
    raw["teams"][0]["queues"]["low"][1]["gpus"] = 8
    env = stack_envelope(parse_platform(raw), "x", catalog)
    (line,) = env.burst.unpriced
    assert line.item == "l4-spot (spot)" and "no price for machine type g2-standard-48" in line.unpriced


def test_catalog_entry_without_date_or_source_is_rejected():
    raw = copy.deepcopy(TEST_CATALOG)
    del raw["machineTypes"]["g2-standard-24"]["date"]
    raw["gke"]["source"] = "cloud.google.com/kubernetes-engine/pricing"
    with pytest.raises(ConfigError) as info:
        parse_catalog(raw)
    assert {"machineTypes.g2-standard-24.date", "gke.source"} <= set(info.value.paths())


def test_shipped_catalog_prices_every_stack_completely():
    """Every Pulumi.<stack>.yaml is fully priced by platform/catalog/prices.yaml, each machine of the
    machine catalog it uses included; the catalog says that prices change."""
    assert "PRICES CHANGE" in PRICES_FILE.read_text()
    catalog = price_catalog()
    assert set(catalog.machine_types) <= set(machine_types())
    for path in REPO.glob("Pulumi.*.yaml"):
        raw = read_config_file(path).get(f"{PROJECT}:platform")
        if raw is None:
            continue
        env = stack_envelope(parse_platform(raw), path.stem, catalog)
        assert env.idle.complete and env.burst.complete, [x.unpriced for x in env.burst.unpriced]


@pytest.mark.parametrize("doc", ["README.md", "docs/operating.md"])
def test_docs_state_the_dev_envelope_the_command_prints(doc, capsys):
    """The dev numbers of the README's front page and of docs/operating.md "Cost" are what
    `python -m components.cli cost dev` prints."""
    assert cli(["cost", "dev"]) == 0
    out = capsys.readouterr().out
    idle = re.search(r"Idle floor \(no job running\): (\$[\d,.]+)/month", out).group(1)
    burst = re.search(r"Burst \(every pool at its maximum, NAP at its limits\): (\$[\d,.]+)/month", out).group(1)
    saving = re.search(r"Spot saves over on-demand at burst: (\$[\d,.]+)/month", out).group(1)
    text = (REPO / doc).read_text()
    assert "python -m components.cli cost dev" in text
    for number in (idle, burst, saving):
        assert number in text, f"{doc} lacks {number}; update its cost numbers"


def test_cost_command_json_and_bad_input(tmp_path: Path, capsys):
    assert cli(["cost", "dev", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["burstMonthlyUsd"] == data["burst"]["monthlyUsd"] > data["idle"]["monthlyUsd"] > 0
    assert {t["team"] for t in data["teams"]} == {"team-a", "team-b", "team-c", "team-d"}
    bad = tmp_path / "Pulumi.bad.yaml"
    raw = small_raw()
    raw["teams"][0]["monthlyBudgetUsd"] = -5
    bad.write_text(yaml.safe_dump({"config": {f"{PROJECT}:platform": raw}}))
    assert cli(["cost", "--config-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "teams[0].monthlyBudgetUsd" in err and "Traceback" not in err


def test_burst_prices_exactly_the_pools_and_nap_limits_the_program_creates(dev_capture):
    """The burst counts the nodes the program's node pools can reach (autoscaling totalMaxNodeCount, or
    the fixed nodeCount of the one-zone reserved pool) at the price model the pool is created with
    (nodeConfig.spot), and NAP at the cluster's resourceLimits minus the static pools' GPUs (GKE counts
    every node against NAP limits: cloud.google.com/kubernetes-engine/docs/how-to/node-auto-provisioning)."""
    platform = parse_platform(load_dev_platform_raw())
    burst = {line.item.split(" (")[0]: line.detail for line in stack_envelope(platform, "dev").burst.lines}
    static_gpus: dict[str, int] = {}
    for pool in dev_capture.of_type("gcp:container/nodePool:NodePool"):
        i, node = pool.inputs, pool.inputs["nodeConfig"]
        count = i["autoscaling"]["totalMaxNodeCount"] if i.get("autoscaling") else i["nodeCount"]
        pool_name = pool.name.removesuffix("-pool")  # the GKE name is auto-named from it (components/gcp/node_pools.py)
        item = "system pool" if pool_name == "system" else pool_name
        assert burst[item].startswith(f"{count} x {node['machineType']} {'spot' if node.get('spot') else 'on-demand'}")
        for acc in node.get("guestAccelerators") or []:
            static_gpus[acc["type"]] = static_gpus.get(acc["type"], 0) + count * acc["count"]
    (cluster,) = dev_capture.of_type("gcp:container/cluster:Cluster")
    limits = {x["resourceType"]: x["maximum"] for x in cluster.inputs["clusterAutoscaling"]["resourceLimits"]}
    assert limits["nvidia-l4"] == static_gpus["nvidia-l4"]  # every L4 the burst counts, and no more
    nap_nodes = limits["nvidia-tesla-a100"] - static_gpus.get("nvidia-tesla-a100", 0)  # a2-highgpu-1g: 1 GPU
    assert burst["a100-compact-spot"].startswith(f"{nap_nodes} x a2-highgpu-1g spot")


def test_broken_price_catalog_exits_2_naming_the_entry(monkeypatch, tmp_path: Path, capsys):
    from components.model import prices

    raw = yaml.safe_load(PRICES_FILE.read_text())
    del raw["machineTypes"]["g2-standard-24"]["date"]
    broken = tmp_path / "prices.yaml"
    broken.write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(prices, "PRICES_FILE", broken)
    prices.price_catalog.cache_clear()
    try:
        assert cli(["cost", "dev"]) == 2
    finally:
        prices.price_catalog.cache_clear()  # the next caller reloads the real catalog
    err = capsys.readouterr().err
    assert "machineTypes.g2-standard-24.date: Field required" in err and "Traceback" not in err
