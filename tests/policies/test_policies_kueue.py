"""The policy pack's Kueue-integrity and scale-to-zero policies, and every policy on preview unknowns:
each catches its failure on a mutated capture of the real program (see test_policies.py's docstring)."""

from __future__ import annotations

from typing import Optional

import pytest

from components.capture import Capture
from policies.gpu_batch_policies.values import UNKNOWN, plain
from policies.runner import run_policies
from policy_support import (T_CHART, T_CLUSTER, T_CQ, T_LQ, T_POOL, T_RF, UNKNOWN_OBJECT, UNKNOWN_STRING, add,
                            assert_clean, assert_violation, check, edit, gke_pool, res, set_gpu_quota)
from policy_support import dev, policy_dev  # noqa: F401 (fixtures)


# ---------------------------------------------------------------------------------------------------
# Kueue integrity


def test_quota_over_reserved_capacity(dev: Capture):
    """The reference's bug: the teams' reserved quotas add up to twice the reserved GPUs."""
    for team in ("team-a", "team-b", "team-c", "team-d"):
        set_gpu_quota(dev, f"{team}-high", "l4-reserved", "4")
    report = check(dev, "kueue-gpu-quota-within-capacity")
    assert_violation(report, "kueue-gpu-quota-within-capacity",
                     "flavor 'l4-reserved' is over-subscribed: nominal nvidia.com/gpu quotas sum to 16 (team-a-high 4, "
                     "team-b-high 4, team-c-high 4, team-d-high 4) but the node pool(s) it selects supply 8 "
                     f"({gke_pool('l4-reserved')}: 4 nodes x 2 GPUs)", res(dev, T_RF, "l4-reserved").urn)


def test_quota_over_nap_limit(dev: Capture):
    for team in ("team-a", "team-b", "team-c", "team-d"):
        set_gpu_quota(dev, f"{team}-compact", "a100-compact-spot", "6")
    report = check(dev, "kueue-gpu-quota-within-capacity")
    assert_violation(report, "kueue-gpu-quota-within-capacity",
                     "NAP flavor(s) of nvidia-tesla-a100 are over-subscribed: nominal nvidia.com/gpu quotas sum to 24",
                     res(dev, T_RF, "a100-compact-spot").urn)


def test_flavor_taint_no_node_carries(dev: Capture):
    """The reference's bug: a flavor tainted nvidia.com/gpu=true, a taint no GKE node has."""
    flavor = edit(res(dev, T_RF, "l4-spot"), lambda p: p["spec"].update(
        nodeTaints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]))
    report = check(dev, "kueue-flavors-match-nodes")
    assert_violation(report, "kueue-flavors-match-nodes", f"closest node pool '{gke_pool('l4-spot')}' lacks: taint "
                     "nvidia.com/gpu=true:NoSchedule (not on the pool)", flavor.urn)


def test_flavor_must_tolerate_gke_gpu_taint(dev: Capture):
    """Kueue checks the job's pod template plus the flavor's tolerations against the node taints, not the
    pods (Kueue v0.19.2 pkg/scheduler/flavorassigner/flavorassigner.go, checkFlavorForPodSets), so GKE's
    ExtendedResourceToleration for GPU pods does not make a flavor's nodes tolerable: a flavor that does not
    tolerate nvidia.com/gpu=present admits jobs whose pods never schedule."""
    flavor = edit(res(dev, T_RF, "l4-spot"), lambda p: p["spec"].update(
        tolerations=[t for t in p["spec"]["tolerations"] if t["key"] != "nvidia.com/gpu"]))
    report = check(dev, "kueue-flavors-match-nodes")
    assert_violation(report, "kueue-flavors-match-nodes", "pool taint nvidia.com/gpu=present:NoSchedule "
                     "(not tolerated by the flavor", flavor.urn)


def test_flavor_pool_taint_missing_and_unknown_accelerator(dev: Capture):
    pool = edit(res(dev, T_POOL, "l4-ondemand-pool"), lambda p: p["nodeConfig"]["taints"].append(
        {"key": "dedicated", "value": "ml", "effect": "NO_SCHEDULE"}))
    h100 = add(dev, T_RF, "kueue-flavor-h100", {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
                                                "metadata": {"name": "h100"},
                                                "spec": {"nodeLabels": {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}}})
    report = check(dev, "kueue-flavors-match-nodes")
    assert pool.urn
    assert_violation(report, "kueue-flavors-match-nodes", "pool taint dedicated=ml:NoSchedule (not tolerated by the flavor",
                     res(dev, T_RF, "l4-ondemand").urn)
    assert_violation(report, "kueue-flavors-match-nodes", "no NAP GPU limit for nvidia-h100-80gb", h100.urn)


def test_flavor_with_nodes_nap_cannot_build(dev: Capture):
    edit(res(dev, T_RF, "l4-spot"), lambda p: p["spec"]["nodeLabels"].update({"batch-platform/flavor": "l4-spott"}))
    report = check(dev, "kueue-flavors-match-nodes")
    assert_violation(report, "kueue-flavors-match-nodes", "NAP limit for nvidia-l4 (146) is used up by its static node pools",
                     res(dev, T_RF, "l4-spot").urn)


def test_queue_references(dev: Capture):
    lq = edit(res(dev, T_LQ, "queues-team-a-lq-high"), lambda p: p["spec"].update(clusterQueue="team-a-hihg"))
    wrong_ns = edit(res(dev, T_LQ, "queues-team-c-lq-high"), lambda p: p["spec"].update(clusterQueue="team-a-high"))
    cq = edit(res(dev, T_CQ, "team-b-low"),
              lambda p: p["spec"]["resourceGroups"][0]["flavors"][1].update(name="l4-spott"))
    report = check(dev, "kueue-queue-references")
    assert_violation(report, "kueue-queue-references", "points to ClusterQueue 'team-a-hihg', which does not exist", lq.urn)
    assert_violation(report, "kueue-queue-references", "does not select namespace 'team-c'", wrong_ns.urn)
    assert_violation(report, "kueue-queue-references", "uses ResourceFlavor 'l4-spott', which does not exist", cq.urn)


def test_cluster_queue_namespace_selector(dev: Capture):
    everyone = edit(res(dev, T_CQ, "team-a-high"), lambda p: p["spec"].update(namespaceSelector={}))
    nobody = edit(res(dev, T_CQ, "team-b-high"), lambda p: p["spec"].pop("namespaceSelector"))
    report = check(dev, "kueue-cluster-queue-namespace-selector")
    assert_violation(report, "kueue-cluster-queue-namespace-selector", "empty namespaceSelector: every namespace", everyone.urn)
    assert_violation(report, "kueue-cluster-queue-namespace-selector", "has no namespaceSelector", nobody.urn)
    exempt = check(dev, "kueue-cluster-queue-namespace-selector", {"exemptClusterQueues": ["team-a-high", "team-b-high"]})
    assert not exempt.violations


def test_kueue_api_version(dev: Capture):
    old = add(dev, "kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue", "legacy-queue", {
        "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "legacy"},
        "spec": {"namespaceSelector": {"matchLabels": {"team": "x"}}}})
    chart = edit(res(dev, T_CHART, "controllers-kueue"), lambda p: p["values"]["managerConfig"].update(
        controllerManagerConfigYaml="apiVersion: config.kueue.x-k8s.io/v1beta1\nkind: Configuration\n"))
    report = check(dev, "kueue-api-version", view="program")
    assert_violation(report, "kueue-api-version", "uses kueue.x-k8s.io/v1beta1", old.urn)
    assert_violation(report, "kueue-api-version", "config.kueue.x-k8s.io/v1beta1", chart.urn)


@pytest.mark.parametrize("version", ["", "latest", "^0.19", "~0.19.2", ">=0.19.0", "0.19", "0.x", "0.19.*"])
def test_helm_charts_pinned(dev: Capture, version: str):
    chart = edit(res(dev, T_CHART, "controllers-kueue"), lambda p: p.update(version=version))
    report = check(dev, "helm-charts-pinned", view="program")
    assert_violation(report, "helm-charts-pinned", "no version" if not version else "not an exact semantic version",
                     chart.urn)


def test_helm_charts_pinned_accepts_exact_and_local(dev: Capture):
    edit(res(dev, T_CHART, "controllers-kueue"), lambda p: p.update(version="v0.19.2-rc.1+build.5"))
    add(dev, T_CHART, "local", {"chart": "./charts/local", "values": {}})
    assert_clean(check(dev, "helm-charts-pinned", view="program"), "helm-charts-pinned")


def test_borrowing_reachable_is_advisory(dev: Capture):
    set_gpu_quota(dev, "team-a-low", "l4-spot", "100", field="borrowingLimit")
    report = check(dev, "kueue-borrowing-reachable")
    assert_violation(report, "kueue-borrowing-reachable", "may borrow 100 nvidia.com/gpu of 'l4-spot', but the other "
                     "queues of cohort 'team-a-b' own only 12 there: 88 can never be borrowed",
                     res(dev, T_CQ, "team-a-low").urn, enforcement="advisory")
    assert report.exit_code == 0


# ---------------------------------------------------------------------------------------------------
# Scale to zero


def _workload(kind: str, name: str, tolerations: list, labels: Optional[dict] = None, gpus: int = 0) -> dict:
    container = {"name": "main", "image": "busybox"}
    if gpus:
        container["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "labels": labels or {}},
            "spec": {"template": {"metadata": {"labels": labels or {}},
                                  "spec": {"containers": [container], "tolerations": tolerations}}}}


def test_gpu_taints_only_for_gpu_workloads(dev: Capture):
    everything = [{"operator": "Exists"}]
    gpu = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    monitoring = add(dev, "kubernetes:apps/v1:Deployment", "prometheus",
                     _workload("Deployment", "prometheus", everything))
    logging_ds = add(dev, "kubernetes:apps/v1:DaemonSet", "fluent-bit", _workload("DaemonSet", "fluent-bit", gpu))
    add(dev, "kubernetes:apps/v1:DaemonSet", "nvidia-device-plugin",
        _workload("DaemonSet", "nvidia-device-plugin", everything, {"app": "nvidia-device-plugin"}))
    add(dev, "kubernetes:apps/v1:DaemonSet", "exporter",
        _workload("DaemonSet", "exporter", gpu, {"app.kubernetes.io/name": "dcgm-exporter"}))
    add(dev, "kubernetes:apps/v1:Deployment", "inference", _workload("Deployment", "inference", gpu, gpus=1))
    add(dev, "kubernetes:apps/v1:Deployment", "web", _workload("Deployment", "web", [{"key": "dedicated", "operator": "Exists"}]))
    chart = edit(res(dev, T_CHART, "controllers-kueue"), lambda p: p["values"]["controllerManager"].update(
        tolerations=[{"key": "batch-platform/capacity", "operator": "Exists"}]))
    report = check(dev, "gpu-taints-only-for-gpu-workloads", view="program")
    name = "gpu-taints-only-for-gpu-workloads"
    assert_violation(report, name, "Deployment 'prometheus' requests no GPU but tolerates every taint", monitoring.urn)
    assert_violation(report, name, "DaemonSet 'fluent-bit' requests no GPU but tolerates nvidia.com/gpu", logging_ds.urn)
    assert_violation(report, name, "values.controllerManager.tolerations tolerates batch-platform/capacity", chart.urn)
    assert len(report.violations) == 3  # device plugin, DCGM exporter, GPU inference and web are fine


def test_gpu_daemonset_allowlist_is_config(dev: Capture):
    add(dev, "kubernetes:apps/v1:DaemonSet", "fluent-bit",
        _workload("DaemonSet", "fluent-bit", [{"key": "cloud.google.com/gke-spot", "operator": "Exists"}]))
    name = "gpu-taints-only-for-gpu-workloads"
    assert check(dev, name).violations
    allowed = check(dev, name, {"gpuDaemonSetPatterns": ["nvidia", "dcgm", "device-plugin", "^fluent-bit$"]})
    assert not allowed.violations


# ---------------------------------------------------------------------------------------------------
# Preview: unknown values


def test_unknown_values_during_preview_do_not_crash_or_flag(dev: Capture):
    """In a real preview, e-mails and ids computed by the cloud are unknown (the engine's marker)."""
    for r in dev.resources:
        if r.type == T_POOL:
            edit(r, lambda p: (p["nodeConfig"].update(serviceAccount=UNKNOWN_STRING), p.update(cluster=UNKNOWN_STRING)))
        if r.type == T_CLUSTER:
            edit(r, lambda p: p["clusterAutoscaling"]["autoProvisioningDefaults"].update(serviceAccount=UNKNOWN_STRING))
    edit(res(dev, T_CLUSTER, "cluster-gke"), lambda p: p.update(privateClusterConfig=UNKNOWN_OBJECT,
                                                                 workloadIdentityConfig=UNKNOWN_OBJECT))
    edit(res(dev, T_POOL, "l4-dws-pool"), lambda p: p["nodeConfig"].update(reservationAffinity=UNKNOWN_OBJECT))
    report = run_policies(dev)
    assert not report.violations, report.format()
    assert plain({"a": [UNKNOWN_STRING]}) == {"a": [UNKNOWN]}
