"""What a fleet changes in the GCP layer: a worker's team data lives in the manager's buckets (it creates none),
and the manager's Cloud NAT has enough reserved addresses for its nodes."""

from __future__ import annotations

import pytest

from components.model import fleet, nat, parse_platform
from components.model.names import team_bucket_name
from components.workloads.render import render as render_workload
from conftest import FLEET_STACKS, PLATFORM_KEY, STACKS, capture_of, load_stack_config

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"


def _raw(stack: str) -> dict:
    return load_stack_config(stack)[PLATFORM_KEY]


@pytest.fixture(scope="module")
def captures():
    return {stack: capture_of(load_stack_config(stack), stack) for stack in FLEET_STACKS}


def _bucket_of(objs: list[dict]) -> str:
    (job,) = [o for o in objs if o["kind"] in ("Job", "JobSet")]
    spec = job["spec"]["template"]["spec"] if job["kind"] == "Job" else \
        job["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    (name,) = [v["csi"]["volumeAttributes"]["bucketName"] for v in spec["volumes"] if "csi" in v]
    return name


# ------------------------------------------------------------------ a worker has no buckets of its own


def test_a_worker_creates_no_team_buckets_and_its_teams_use_the_managers(captures):
    """MultiKueue copies the Job to the worker as submitted (Kueue v0.19.2 concepts/multikueue.md "Job Flow" 2: "The
    manager creates a copy of the Job in the selected worker cluster"), so a dispatched job mounts the manager's
    team bucket. Nothing else on a worker mounts a team bucket: its teams are derived with queues, cohort, DWS and
    members only (no datasets, serving or pipelines). So the worker creates no bucket; each team identity's one
    bucket grant is the manager's bucket, and the stack's teamBuckets output names those."""
    manager = parse_platform(_raw("fleet-manager"), "Pulumi.fleet-manager.yaml")
    worker_capture = captures["fleet-worker-eu"]
    assert worker_capture.of_type(BUCKET) == []
    grants = sorted((r.inputs["bucket"], r.inputs["member"]) for r in worker_capture.of_type(BUCKET_IAM))
    assert grants == sorted((team_bucket_name(manager, t), f"serviceAccount:fleet-eu-{t.name}@my-gpu-batch-dev.iam.gserviceaccount.com")
                            for t in manager.teams)
    assert worker_capture.stack_outputs["teamBuckets"] == {t.name: team_bucket_name(manager, t) for t in manager.teams}
    # The derived teams carry nothing else that would mount a bucket or a share.
    worker = parse_platform(_raw("fleet-worker-eu"), "Pulumi.fleet-worker-eu.yaml")
    assert all(t.datasets is None and t.serving is None and not t.pipelines for t in worker.teams)
    # The manager keeps its buckets, one per team.
    assert len(captures["fleet-manager"].of_type(BUCKET)) == len(manager.teams)


@pytest.mark.parametrize("stack", STACKS)
def test_a_single_cluster_stack_keeps_its_own_buckets(stack):
    platform = parse_platform(_raw(stack), f"Pulumi.{stack}.yaml")
    capture = capture_of(load_stack_config(stack), stack)
    assert sorted(r.inputs["name"] for r in capture.of_type(BUCKET)) == sorted(team_bucket_name(platform, t) for t in platform.teams)
    assert all(fleet.team_bucket(platform, t) == team_bucket_name(platform, t) for t in platform.teams)


def test_workloads_for_a_worker_name_the_bucket_a_dispatched_copy_names():
    """A job rendered for the worker (submitted there directly) mounts the same bucket as the manager's job that
    MultiKueue copies there: the only team bucket the worker's identity can use."""
    manager = parse_platform(_raw("fleet-manager"), "Pulumi.fleet-manager.yaml")
    worker = parse_platform(_raw("fleet-worker-eu"), "Pulumi.fleet-worker-eu.yaml")
    for team in ("team-a", "team-b"):
        assert _bucket_of(render_workload(worker, team, "low")) == _bucket_of(render_workload(manager, team, "low")) \
            == f"my-gpu-batch-dev-fleet-mgr-{team}"


def test_bucket_name_rules_do_not_apply_to_a_worker():
    """Cloud Storage forbids "goog" at the start of a bucket name ("Bucket naming guidelines"), which is why a
    namePrefix with it is refused; a worker names no bucket, so the rule is not its own."""
    def goog(raw: dict) -> dict:
        raw["namePrefix"] = "goog-eu"
        return raw
    assert parse_platform(goog(_raw("fleet-worker-eu")), "Pulumi.fleet-worker-eu.yaml").name_prefix == "goog-eu"
    from components.model import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_platform(goog(_raw("fleet-manager")), "Pulumi.fleet-manager.yaml")
    assert any(i.path == "namePrefix" and "bucket name" in i.message for i in info.value.issues)


def test_stacks_planned_in_one_process_do_not_share_a_root():
    """`explain` of a manager plans each worker in the same process. Pulumi's set_mocks makes a root Stack only when
    none is set (pulumi/runtime/mocks.py set_mocks: "if get_root_resource() is None"), so the mock engine clears
    it per run: else the worker's resources hang under the manager's Stack and its outputs include the manager's."""
    from components.capture import run_stack

    run_stack("fleet-manager")
    worker = run_stack("fleet-worker-eu")
    roots = {r.parent for r in worker.resources if r.parent and r.parent.endswith("::pulumi:pulumi:Stack::gpu-batch-platform-fleet-worker-eu")}
    assert roots and not [r for r in worker.resources if "fleet-manager::" in (r.parent or "")]
    assert "natAddresses" not in worker.stack_outputs  # the manager's export


# ------------------------------------------------------------------ the manager's NAT addresses


def test_one_nat_address_serves_1008_vms_at_the_default_ports_per_vm():
    """Cloud NAT "IP addresses and ports": 64,512 source ports per NAT IP address; with static port allocation each
    VM reserves minPortsPerVm of them, default 64 (pulumi-gcp 10.2.0 compute.RouterNat min_ports_per_vm), so the
    page's example holds: 1 NAT IP at 64 ports per VM serves 1,008 VMs, and a 1,009th needs a second address."""
    assert (nat.PORTS_PER_ADDRESS, nat.MIN_PORTS_PER_VM, nat.VMS_PER_ADDRESS) == (64_512, 64, 1_008)
    assert [nat.addresses_for(vms) for vms in (0, 1, 1_008, 1_009, 2_016, 2_017)] == [1, 1, 1, 2, 2, 3]


@pytest.mark.parametrize("stack", (*STACKS, *FLEET_STACKS))
def test_the_nat_keeps_the_defaults_the_address_count_assumes(stack):
    """The count holds only while the NAT uses static allocation at the default minimum (neither minPortsPerVm nor
    enableDynamicPortAllocation set; Compute API RouterNat: dynamic allocation "If not specified, it is disabled by
    default") and no pool but the system pool surges beyond its maximum during an upgrade."""
    capture = capture_of(load_stack_config(stack), stack)
    (router_nat,) = capture.of_type("gcp:compute/routerNat:RouterNat")
    assert "minPortsPerVm" not in router_nat.inputs and not router_nat.inputs.get("enableDynamicPortAllocation")
    # A DWS pool sets none: GKE upgrades it SHORT_LIVED, its nodes replaced by the next request (node_pools.py).
    surges = {r.name: r.inputs.get("upgradeSettings", {}).get("maxSurge", 0)
              for r in capture.of_type("gcp:container/nodePool:NodePool")}
    assert surges.pop("system-pool") == nat.SYSTEM_POOL_SURGE and set(surges.values()) <= {0}
    (cluster,) = capture.of_type("gcp:container/cluster:Cluster")
    nap = cluster.inputs.get("clusterAutoscaling", {}).get("autoProvisioningDefaults")
    assert nap is None or nap["upgradeSettings"]["maxSurge"] == 0


def _manager_with_spot_nodes(max_nodes: int) -> dict:
    config = load_stack_config("fleet-manager")
    pools = config[PLATFORM_KEY]["gpuPools"]
    next(p for p in pools if p["name"] == "l4-spot")["maxNodes"] = max_nodes
    return config


def test_the_manager_reserves_a_nat_address_per_1008_of_its_most_nodes():
    """The manager's NAT uses only its reserved addresses (MANUAL_ONLY), so it reserves enough for its most nodes:
    every pool at its maximum, the system pool's and its surge node. The dev manager: 3 + 1 + 4 + 8 = 16 nodes, one
    address. With 1,002 spot nodes it has 1,010, more than one address serves: two, both in the NAT, both exported
    for the workers to admit, both in the cost."""
    manager = parse_platform(_raw("fleet-manager"), "Pulumi.fleet-manager.yaml")
    assert nat.max_vms(manager) == 16
    big = _manager_with_spot_nodes(1_002)
    platform = parse_platform(big[PLATFORM_KEY], "Pulumi.fleet-manager.yaml")
    assert nat.max_vms(platform) == 1_010
    capture = capture_of(big, "fleet-manager")
    addresses = sorted(capture.of_type("gcp:compute/address:Address"), key=lambda r: r.name)
    assert [(a.name, a.inputs["name"]) for a in addresses] == [("network-nat-ip", "fleet-mgr-nat"),
                                                               ("network-nat-ip-2", "fleet-mgr-nat-2")]
    (router_nat,) = capture.of_type("gcp:compute/routerNat:RouterNat")
    assert router_nat.inputs["natIpAllocateOption"] == "MANUAL_ONLY"
    assert router_nat.inputs["natIps"] == [f"projects/my-gpu-batch-dev/regions/us-central1/addresses/{a.inputs['name']}"
                                           for a in addresses]
    assert capture.stack_outputs["natAddresses"] == ["198.51.100.7/32", "198.51.100.8/32"]
    from components.cost.envelope import stack_envelope

    envelope = stack_envelope(platform, "fleet-manager")
    for total in (envelope.idle, envelope.burst):  # reserved: billed whether or not the nodes run
        (line,) = [line for line in total.lines if line.item == "Cloud NAT IP"]
        assert line.detail.startswith("2 reserved external IPs x ")
    # One spot node fewer and the 1,009 nodes still need two; at 1,008 one address serves them all.
    assert nat.addresses_for(nat.max_vms(parse_platform(_manager_with_spot_nodes(1_001)[PLATFORM_KEY]))) == 2
    assert nat.addresses_for(nat.max_vms(parse_platform(_manager_with_spot_nodes(1_000)[PLATFORM_KEY]))) == 1
