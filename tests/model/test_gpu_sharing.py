"""GPU sharing pools: what GKE builds, what Kueue counts and where `explain` puts a job, on the dev stack.

Upstream behaviour encoded here (each test names its source):
- GKE "About GPU sharing strategies in GKE" (cloud.google.com/kubernetes-engine/docs/concepts/timesharing-gpus):
  a pool with `gpuSharingConfig` gets the node labels `cloud.google.com/gke-gpu-sharing-strategy` and
  `cloud.google.com/gke-max-shared-clients-per-gpu`, the driver presents each physical GPU to the kubelet as
  that many `nvidia.com/gpu`, and a container may request at most one of them ("invalid request for sharing
  GPU (time-sharing), at most 1 nvidia.com/gpu can be requested on GPU nodes");
- GKE "Running multi-instance GPUs" (docs/how-to/gpus-multi): MIG on A100 40GB/80GB and H100 80GB only, with
  the partition sizes of the NVIDIA MIG user guide;
- Kueue v0.19.2 `pkg/podset/podset.go` FromAssignment: an admitted pod gets its flavor's nodeLabels as
  nodeSelector, so the shared job selects the strategy without writing it.
"""

from __future__ import annotations

import pytest

from components.explain import ADMITTED, from_capture, from_object
from components.explain.simulate import explain
from components.model import flavors, parse_platform
from components.workloads import render
from conftest import assert_issue, config_error, load_dev_platform_raw
from kube_semantics import static_pool_node

DEV = parse_platform(load_dev_platform_raw())
POOL = "gcp:container/nodePool:NodePool"
RF = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
CQ = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
SHARED_LABELS = {"cloud.google.com/gke-gpu-sharing-strategy": "time-sharing",
                 "cloud.google.com/gke-max-shared-clients-per-gpu": "4"}


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


def _job(team: str, kind: str) -> dict:
    return next(o for o in render(DEV, team, kind) if o["kind"] == "Job")


def test_sharing_pool_flavor_labels_and_quota_units_agree(dev_capture):
    """GKE "About GPU sharing strategies in GKE": the pool's gpuSharingConfig makes GKE label its nodes with
    the strategy and clients, and each node advertise GPUs x clients nvidia.com/gpu. The ResourceFlavor must
    select exactly those labels, and the queues' nominal units must fit what the nodes advertise."""
    pool = next(r for r in dev_capture.of_type(POOL) if r.name == "l4-shared-pool")
    (accel,) = pool.inputs["nodeConfig"]["guestAccelerators"]
    assert accel["gpuSharingConfig"] == {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4}
    assert pool.inputs["autoscaling"]["totalMinNodeCount"] == 0  # from zero
    node = static_pool_node(pool.inputs)
    assert SHARED_LABELS.items() <= node["labels"].items()
    rf = next(r for r in dev_capture.of_type(RF) if r.inputs["metadata"]["name"] == "l4-shared").inputs["spec"]
    assert rf["nodeLabels"].items() <= node["labels"].items() and SHARED_LABELS.items() <= rf["nodeLabels"].items()
    advertised = pool.inputs["autoscaling"]["totalMaxNodeCount"] * accel["count"] * accel["gpuSharingConfig"]["maxSharedClientsPerGpu"]
    nominal = {}
    for r in dev_capture.of_type(CQ):
        for group in r.inputs["spec"]["resourceGroups"]:
            for f in group["flavors"]:
                if f["name"] == "l4-shared":
                    gpu = next(x for x in f["resources"] if x["name"] == "nvidia.com/gpu")
                    nominal[r.inputs["metadata"]["name"]] = int(gpu["nominalQuota"])
    assert nominal == {"team-a-shared": 4, "team-c-shared": 4}
    assert sum(nominal.values()) == advertised == 8
    # and the model's one spec says the same
    assert flavors(DEV)["l4-shared"].gpu_units == advertised


def test_shared_job_selects_the_sharing_strategy_through_its_flavor(cluster):
    """Kueue v0.19.2 podset.go FromAssignment injects the flavor's nodeLabels: the rendered shared job
    writes no sharing selector itself, asks for one shared unit, and is admitted to l4-shared, whose
    labels (GKE's sharing labels included) its pods then select."""
    job = _job("team-a", "shared")
    spec = job["spec"]["template"]["spec"]
    assert "nodeSelector" not in spec
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    verdict = explain(cluster, from_object(job))
    assert verdict.status == ADMITTED, verdict.format()
    assert verdict.flavor == "l4-shared" and verdict.pools["main"].startswith("l4-shared"), verdict.format()
    rf = cluster.named("ResourceFlavor", "l4-shared")
    assert SHARED_LABELS.items() <= rf["spec"]["nodeLabels"].items()


def test_explain_refuses_a_whole_gpu_job_on_the_shared_pool(cluster):
    """GKE "About GPU sharing strategies in GKE": on time-shared nodes a container asking for more than one
    nvidia.com/gpu fails admission ("at most 1 nvidia.com/gpu can be requested"). Kueue itself would admit
    it (two units fit the quota), so explain must say why its pod never runs and what to do instead."""
    job = _job("team-a", "shared")
    job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "2"
    verdict = explain(cluster, from_object(job))
    assert verdict.status != ADMITTED
    assert verdict.flavor == "l4-shared", verdict.format()
    assert any("at most 1 nvidia.com/gpu" in r and "l4-shared" in r for r in verdict.reasons), verdict.format()
    assert any("high or low queue" in f for f in verdict.fixes), verdict.format()


def test_teams_without_the_shared_queue_cannot_submit_to_it(cluster):
    """Teams opt in: team-b has no `shared` LocalQueue, so its job names a queue Kueue does not know
    (Kueue pkg/cache/queue/manager.go: the LocalQueue must exist)."""
    job = _job("team-a", "shared")
    job["metadata"]["namespace"] = "team-b"
    verdict = explain(cluster, from_object(job))
    assert verdict.status != ADMITTED and verdict.flavor is None


def _pool(raw: dict, name: str) -> dict:
    return next(p for p in raw["gpuPools"] if p["name"] == name)


def _a100_pool(raw: dict, **sharing) -> int:
    raw["gpuPools"].append({"name": "a100-mig", "machineType": "a2-highgpu-1g",
                            "accelerator": {"type": "nvidia-tesla-a100", "count": 1, "sharing": sharing},
                            "provisioning": "on-demand", "maxNodes": 1})
    return len(raw["gpuPools"]) - 1


def _set_shared(raw: dict, **sharing) -> None:
    _pool(raw, "l4-shared")["accelerator"]["sharing"] = sharing


def _shared_index(raw: dict) -> int:
    return next(i for i, p in enumerate(raw["gpuPools"]) if p["name"] == "l4-shared")


BAD = {
    # GKE "Running multi-instance GPUs": MIG on A100/H100 only
    "mig-on-l4": (lambda r: _set_shared(r, partitionSize="1g.5gb"),
                  lambda r: f"gpuPools[{_shared_index(r)}].accelerator.sharing.partitionSize", "no multi-instance GPU partitions", "time-sharing"),
    # NVIDIA MIG user guide profiles: the A100 40GB has no 1g.10gb
    "mig-size-not-offered": (lambda r: _a100_pool(r, partitionSize="1g.10gb"),
                             lambda r: f"gpuPools[{len(r['gpuPools']) - 1}].accelerator.sharing.partitionSize", "offers no '1g.10gb'", "1g.5gb"),
    "sharing-on-reserved-pool": (lambda r: _pool(r, "l4-reserved")["accelerator"].update(
                                     sharing={"strategy": "time-sharing", "maxSharedClientsPerGpu": 2}),
                                 lambda r: "gpuPools[0].accelerator.sharing", "reservation describes whole-GPU machines", "on-demand or spot"),
    # GKE ComputeClass reference: maxSharedClientsPerGPU 2..48
    "too-many-clients": (lambda r: _set_shared(r, strategy="time-sharing", maxSharedClientsPerGpu=64),
                         lambda r: f"gpuPools[{_shared_index(r)}].accelerator.sharing.maxSharedClientsPerGpu", "outside GKE's 2..48", "2..48"),
    "one-client": (lambda r: _set_shared(r, strategy="time-sharing", maxSharedClientsPerGpu=1),
                   lambda r: f"gpuPools[{_shared_index(r)}].accelerator.sharing.maxSharedClientsPerGpu", "outside GKE's 2..48", "2..48"),
    # GKE "Share GPUs with multiple workloads using NVIDIA MPS": client pods run with hostIPC: true;
    # Pod Security Standards (Baseline) forbid host namespaces in the team namespaces.
    "mps": (lambda r: _set_shared(r, strategy="mps", maxSharedClientsPerGpu=4),
            lambda r: f"gpuPools[{_shared_index(r)}].accelerator.sharing.strategy", "hostIPC", "time-sharing"),
    "mps-on-mig": (lambda r: _a100_pool(r, strategy="mps", maxSharedClientsPerGpu=2, partitionSize="1g.5gb"),
                   lambda r: f"gpuPools[{len(r['gpuPools']) - 1}].accelerator.sharing.strategy", "hostIPC", "time-sharing"),
    "strategy-without-clients": (lambda r: _set_shared(r, strategy="time-sharing"),
                                 lambda r: f"gpuPools[{_shared_index(r)}].accelerator.sharing.maxSharedClientsPerGpu", "needs the number", "set maxSharedClientsPerGpu"),
    "sharing-on-compact-nap-shape": (lambda r: r["nodeAutoProvisioning"]["shapes"][0]["accelerator"].update(
                                         sharing={"strategy": "time-sharing", "maxSharedClientsPerGpu": 2}),
                                     lambda r: "nodeAutoProvisioning.shapes[0].accelerator.sharing", "compact-placement shape", "static"),
    "shared-queue-on-whole-gpus": (lambda r: r["teams"][1]["queues"].update(shared=[{"flavor": "l4-ondemand", "gpus": 2}]),
                                   lambda r: "teams[1].queues.shared[0].flavor", "has whole GPUs", "accelerator.sharing"),
    "whole-gpu-queue-on-shared-pool": (lambda r: r["teams"][1]["queues"]["high"].append({"flavor": "l4-shared", "gpus": 2}),
                                       lambda r: "teams[1].queues.high[2].flavor", "promises whole GPUs", "shared class"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sharing_config_is_a_model_error_with_path_and_fix(case):
    mutate, path, message, fix = BAD[case]
    raw = load_dev_platform_raw()
    mutate(raw)
    assert_issue(config_error(raw), path(raw), message, fix)


def test_time_sharing_on_mig_partitions_counts_both():
    """GKE "Running multi-instance GPUs": an A100 40GB split 1g.5gb gives 7 partitions, each one
    nvidia.com/gpu; time-sharing each partition by 2 doubles that (GKE documents time-sharing on MIG)."""
    raw = load_dev_platform_raw()
    _a100_pool(raw, partitionSize="1g.5gb", strategy="time-sharing", maxSharedClientsPerGpu=2)
    flavor = flavors(parse_platform(raw))["a100-mig"]
    assert flavor.gpu_units_per_node == 14
    assert flavor.node_labels["cloud.google.com/gke-gpu-partition-size"] == "1g.5gb"
