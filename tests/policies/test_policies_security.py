"""The policy pack's security and GPU-capacity policies: each passes the dev stack (test_policies.py)
and catches its failure on a mutated capture of the real program (see test_policies.py's docstring)."""

from __future__ import annotations

import json

import pytest

from components.capture import Capture, run_stack
from policy_support import (PLATFORM_KEY, RESERVATION, T_CHART, T_CLUSTER, T_POOL, T_RESERVATION, add, assert_clean,
                            assert_violation, check, dev_config, edit, gke_pool, res)
from policy_support import dev, policy_dev  # noqa: F401 (fixtures)


# ---------------------------------------------------------------------------------------------------
# Security


def test_private_nodes(dev: Capture):
    cluster = edit(res(dev, T_CLUSTER, "cluster-gke"), lambda p: p["privateClusterConfig"].update(enablePrivateNodes=False))
    pool = edit(res(dev, T_POOL, "l4-spot-pool"), lambda p: p.update(networkConfig={"enablePrivateNodes": False}))
    report = check(dev, "gke-private-nodes")
    assert_violation(report, "gke-private-nodes", "every node gets a public IP address", cluster.urn)
    assert_violation(report, "gke-private-nodes", "enablePrivateNodes: false", pool.urn)


def test_open_control_plane_is_stopped_by_the_model_before_the_pack():
    """An authorized network of 0.0.0.0/0 never reaches the pack: the typed model rejects it (components/model/checks_network.py),
    and the pack still catches it on resources that bypass the model (test_master_authorized_networks)."""
    from components.model import ConfigError

    config = dev_config()
    config[PLATFORM_KEY]["network"]["authorizedNetworks"].append({"name": "anywhere", "cidr": "0.0.0.0/0"})
    with pytest.raises(ConfigError) as info:
        run_stack("dev", config=config)
    assert "network.authorizedNetworks[2].cidr" in info.value.paths()


def test_master_authorized_networks(dev: Capture):
    cluster = res(dev, T_CLUSTER, "cluster-gke")
    report = check(dev, "gke-master-authorized-networks", {"minPrefixLength": 23})
    assert_violation(report, "gke-master-authorized-networks", "10.40.0.0/22", cluster.urn)
    edit(cluster, lambda p: p["masterAuthorizedNetworksConfig"].update(gcpPublicCidrsAccessEnabled=True))
    assert_violation(check(dev, "gke-master-authorized-networks"), "gke-master-authorized-networks",
                     "every Google Cloud public IP")
    edit(cluster, lambda p: p.pop("masterAuthorizedNetworksConfig"))
    assert_violation(check(dev, "gke-master-authorized-networks"), "gke-master-authorized-networks",
                     "no masterAuthorizedNetworksConfig", cluster.urn)


def test_workload_identity(dev: Capture):
    cluster = edit(res(dev, T_CLUSTER, "cluster-gke"), lambda p: p.pop("workloadIdentityConfig"))
    pool = edit(res(dev, T_POOL, "l4-ondemand-pool"),
                lambda p: p["nodeConfig"].update(workloadMetadataConfig={"mode": "GCE_METADATA"}))
    report = check(dev, "gke-workload-identity")
    assert_violation(report, "gke-workload-identity", "no workloadIdentityConfig.workloadPool", cluster.urn)
    assert_violation(report, "gke-workload-identity", "GCE_METADATA", pool.urn)


def test_no_default_compute_service_account(dev: Capture):
    pool = edit(res(dev, T_POOL, "l4-spot-pool"), lambda p: p["nodeConfig"].update(
        serviceAccount="123456789012-compute@developer.gserviceaccount.com"))
    system = edit(res(dev, T_POOL, "system-pool"), lambda p: p["nodeConfig"].pop("serviceAccount"))
    cluster = edit(res(dev, T_CLUSTER, "cluster-gke"),
                   lambda p: p["clusterAutoscaling"]["autoProvisioningDefaults"].pop("serviceAccount"))
    report = check(dev, "no-default-compute-service-account")
    assert_violation(report, "no-default-compute-service-account", "123456789012-compute@", pool.urn)
    assert_violation(report, "no-default-compute-service-account", "unset", system.urn)
    assert_violation(report, "no-default-compute-service-account", "autoProvisioningDefaults", cluster.urn)


def test_no_primitive_iam_roles(dev: Capture):
    member = next(r for r in dev.resources if r.type == "gcp:projects/iAMMember:IAMMember")
    edit(member, lambda p: p.update(role="roles/editor"))
    bucket = next(r for r in dev.resources if r.type == "gcp:storage/bucketIAMMember:BucketIAMMember")
    edit(bucket, lambda p: p.update(role="roles/owner"))
    policy = add(dev, "gcp:projects/iAMPolicy:IAMPolicy", "project-policy", {
        "project": "p", "policyData": json.dumps({"bindings": [{"role": "roles/owner", "members": ["user:a@b.c"]}]})})
    report = check(dev, "no-primitive-iam-roles")
    assert_violation(report, "no-primitive-iam-roles", "grants roles/editor", member.urn)
    assert_violation(report, "no-primitive-iam-roles", "grants roles/owner", bucket.urn)
    assert_violation(report, "no-primitive-iam-roles", "grants roles/owner to user:a@b.c", policy.urn)


def test_shielded_nodes(dev: Capture):
    pool = edit(res(dev, T_POOL, "l4-dws-pool"), lambda p: p["nodeConfig"].pop("shieldedInstanceConfig"))
    cluster = edit(res(dev, T_CLUSTER, "cluster-gke"), lambda p: p.update(enableShieldedNodes=False))
    report = check(dev, "gke-shielded-nodes")
    assert_violation(report, "gke-shielded-nodes", "enableSecureBoot is unset", pool.urn)
    assert_violation(report, "gke-shielded-nodes", "enableShieldedNodes is false", cluster.urn)
    edit(cluster, lambda p: p.update(enableShieldedNodes=True))
    assert_clean(check(dev, "gke-shielded-nodes", {"requireSecureBoot": False}), "gke-shielded-nodes")


def test_no_plaintext_credentials(dev: Capture):
    chart = add(dev, T_CHART, "monitoring-grafana", {
        "chart": "grafana", "version": "8.5.1", "values": {"adminPassword": "hunter2", "admin": {"existingSecret": ""}}})
    secret = add(dev, "kubernetes:core/v1:Secret", "grafana-admin",
                 {"metadata": {"name": "grafana-admin"}, "stringData": {"password": "hunter2"}},
                 options={"additionalSecretOutputs": []})
    config_map = add(dev, "kubernetes:core/v1:ConfigMap", "app-config",
                     {"metadata": {"name": "app"}, "data": {"DB_PASSWORD": "hunter2", "mode": "batch"}})
    # A Secret made with the Kubernetes SDK has data/stringData marked secret: fine.
    add(dev, "kubernetes:core/v1:Secret", "sdk-secret", {"metadata": {"name": "s"}, "stringData": {"token": "x"}})
    report = check(dev, "no-plaintext-credentials")
    assert_violation(report, "no-plaintext-credentials", "values.adminPassword is a plaintext credential", chart.urn)
    assert_violation(report, "no-plaintext-credentials", "stringData (password) is not marked secret", secret.urn)
    assert_violation(report, "no-plaintext-credentials", "data.DB_PASSWORD", config_map.urn)
    assert len(report.violations) == 3


def test_no_public_grafana(dev: Capture):
    service = add(dev, "kubernetes:core/v1:Service", "grafana", {
        "metadata": {"name": "grafana", "namespace": "monitoring"},
        "spec": {"type": "LoadBalancer", "selector": {"app.kubernetes.io/name": "grafana"}, "ports": [{"port": 80}]}})
    add(dev, "kubernetes:core/v1:Service", "grafana-internal", {
        "metadata": {"name": "grafana-internal", "annotations": {"networking.gke.io/load-balancer-type": "Internal"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": "grafana"}}})
    chart = add(dev, T_CHART, "kube-prometheus-stack", {
        "chart": "kube-prometheus-stack", "version": "65.1.0",
        "values": {"grafana": {"service": {"type": "LoadBalancer"}}, "prometheus": {"service": {"type": "NodePort"}}}})
    report = check(dev, "no-public-grafana")
    assert_violation(report, "no-public-grafana", "exposes Grafana as type LoadBalancer", service.urn)
    assert_violation(report, "no-public-grafana", "values.grafana.service.type is LoadBalancer", chart.urn)
    assert len(report.violations) == 2  # neither the internal LB nor the Prometheus NodePort


# ---------------------------------------------------------------------------------------------------
# GPU capacity and cost


def test_gpu_pools_scale_from_zero(dev: Capture):
    spot = edit(res(dev, T_POOL, "l4-spot-pool"), lambda p: p["autoscaling"].update(totalMinNodeCount=2))
    ondemand = edit(res(dev, T_POOL, "l4-ondemand-pool"), lambda p: (p.pop("autoscaling"), p.update(nodeCount=3)))
    report = check(dev, "gpu-pools-scale-from-zero")
    assert_violation(report, "gpu-pools-scale-from-zero", "autoscaling.totalMinNodeCount is 2", spot.urn)
    assert_violation(report, "gpu-pools-scale-from-zero", "has no autoscaling", ondemand.urn)
    assert not [v for v in report.violations if "l4-reserved" in v.urn]  # reserved pools are fixed by design
    relaxed = check(dev, "gpu-pools-scale-from-zero", {"maxMinNodes": 2})
    assert not [v for v in relaxed.violations if v.urn == spot.urn]


def test_gpu_pools_capacity_taint(dev: Capture):
    pool = edit(res(dev, T_POOL, "l4-spot-pool"), lambda p: p["nodeConfig"].update(taints=[]))
    report = check(dev, "gpu-pools-capacity-taint")
    assert_violation(report, "gpu-pools-capacity-taint", "has no batch-platform/capacity taint", pool.urn)
    assert len(report.violations) == 1  # the system pool has no GPUs


def test_queued_provisioning_pool_shape(dev: Capture):
    pool = edit(res(dev, T_POOL, "l4-dws-pool"), lambda p: (
        p["nodeConfig"].pop("reservationAffinity"), p.update(placementPolicy={"type": "COMPACT"})))
    report = check(dev, "queued-provisioning-pool-shape")
    assert_violation(report, "queued-provisioning-pool-shape", "unset (ANY_RESERVATION)", pool.urn)
    assert_violation(report, "queued-provisioning-pool-shape", "compact placement is not supported", pool.urn)


def test_nap_gpu_limits_cover_pools(dev: Capture):
    cluster = res(dev, T_CLUSTER, "cluster-gke")

    def shrink(props: dict) -> None:
        for limit in props["clusterAutoscaling"]["resourceLimits"]:
            if limit["resourceType"] == "nvidia-l4":
                limit["maximum"] = 72
    edit(cluster, shrink)
    report = check(dev, "nap-gpu-limits-cover-pools")
    assert_violation(report, "nap-gpu-limits-cover-pools", "NAP limit for nvidia-l4 is 72, but its node pools can "
                     f"hold 146 ({gke_pool('l4-dws')} 8x2, {gke_pool('l4-ondemand')} 24x2, {gke_pool('l4-reserved')} 4x2, "
                     f"{gke_pool('l4-shared')} 2x1, {gke_pool('l4-spot')} 36x2)", cluster.urn)
    edit(cluster, lambda p: p["clusterAutoscaling"].update(resourceLimits=[
        x for x in p["clusterAutoscaling"]["resourceLimits"] if x["resourceType"] != "nvidia-l4"]))
    assert_violation(check(dev, "nap-gpu-limits-cover-pools"), "nap-gpu-limits-cover-pools", "no nvidia-l4 limit")


def test_reserved_pool_needs_its_reservation(dev: Capture):
    pool = edit(res(dev, T_POOL, "l4-reserved-pool"),
                lambda p: p["nodeConfig"]["reservationAffinity"].update(values=["someone-elses-reservation"]))
    report = check(dev, "reserved-pools-consume-stack-reservation")
    assert_violation(report, "reserved-pools-consume-stack-reservation",
                     "consumes reservation someone-elses-reservation, which is not a Reservation of this stack", pool.urn)


def test_reserved_pool_must_match_its_reservation(dev: Capture):
    pool = res(dev, T_POOL, "l4-reserved-pool")

    def mismatch(props: dict) -> None:
        props["specificReservation"]["count"] = 2
        props["specificReservation"]["instanceProperties"]["guestAccelerators"][0]["acceleratorCount"] = 1
        props["specificReservation"]["instanceProperties"]["machineType"] = "g2-standard-12"
        props["zone"] = "us-central1-a"
    edit(res(dev, T_RESERVATION, "l4-reserved-reservation"), mismatch)
    report = check(dev, "reserved-pools-consume-stack-reservation")
    name = "reserved-pools-consume-stack-reservation"
    assert_violation(report, name, f"runs g2-standard-24 but reservation '{RESERVATION}' reserves g2-standard-12", pool.urn)
    assert_violation(report, name, f"attaches 2 x nvidia-l4 GPUs but reservation '{RESERVATION}' reserves 1 x nvidia-l4")
    assert_violation(report, name, f"can have 4 nodes but reservation '{RESERVATION}' holds only 2 machines")
    assert_violation(report, name, f"spans zones us-central1-c but reservation '{RESERVATION}' is in us-central1-a")


def test_reservations_specific_only_is_advisory(dev: Capture):
    reservation = edit(res(dev, T_RESERVATION, "l4-reserved-reservation"),
                       lambda p: p.update(specificReservationRequired=False))
    report = check(dev, "reservations-specific-only")
    assert_violation(report, "reservations-specific-only", "any matching VM", reservation.urn, enforcement="advisory")
    assert report.exit_code == 0
