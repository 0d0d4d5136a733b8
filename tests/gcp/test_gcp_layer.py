"""The GCP layer as the Pulumi engine would receive it (real program, mock runtime, camelCase inputs).

Where a number can be derived from other captured resources (pool sizes -> NAP limits, the
reservation -> the pool that consumes it) it is, so the test checks the wiring and not the model.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from components.model import flavors, parse_platform
from conftest import load_dev_platform_raw
from gcp_support import (CATALOG, DEFAULT_COMPUTE_SA, FORBIDDEN_ROLES, GPU_POOL_COMPONENT, NAT,
                         NODE_POOL, PREFIX, PROJECT, RAW, RESERVATION, ROUTER, SUBNET, TEAMS, WI_MEMBER, account,
                         gpu_pools, node_sa_email, only, pool, pool_max_nodes, resource_limits, team_email, the_cluster,
                         walk)


# --- reservation and GPU pools --------------------------------------------------------------------


def test_reserved_pool_consumes_the_reservation_created_in_this_stack(dev_capture):
    reservation = only(dev_capture.of_type(RESERVATION))
    reserved = pool(dev_capture, "l4-reserved")
    affinity = reserved.inputs["nodeConfig"]["reservationAffinity"]
    assert affinity["consumeReservationType"] == "SPECIFIC_RESERVATION"
    assert affinity["key"] == "compute.googleapis.com/reservation-name"
    assert affinity["values"] == [reservation.inputs["name"]]
    # The name is read from the resource, so the pool waits for the reservation (the reference used a literal).
    assert reservation.urn in reserved.dependencies


def test_reservation_matches_the_pool_that_consumes_it(dev_capture):
    reservation = only(dev_capture.of_type(RESERVATION)).inputs
    reserved = pool(dev_capture, "l4-reserved").inputs
    spec = reservation["specificReservation"]
    assert reservation["specificReservationRequired"] is True  # nothing else may eat it
    assert spec["count"] == reserved["nodeCount"] == RAW["gpuPools"][0]["reservedNodes"]
    assert spec["instanceProperties"]["machineType"] == reserved["nodeConfig"]["machineType"]
    assert [(a["acceleratorType"], a["acceleratorCount"]) for a in spec["instanceProperties"]["guestAccelerators"]] == [
        (a["type"], a["count"]) for a in reserved["nodeConfig"]["guestAccelerators"]
    ]
    assert reserved["nodeLocations"] == [reservation["zone"]]
    assert "autoscaling" not in reserved  # a fixed-size pool: exactly the reserved machines


def test_spot_pool_scales_from_zero_on_spot_vms(dev_capture):
    spot = pool(dev_capture, "l4-spot").inputs
    assert spot["nodeConfig"]["spot"] is True
    assert spot["autoscaling"]["totalMinNodeCount"] == 0
    assert spot["autoscaling"]["totalMaxNodeCount"] == 36
    for name in ("l4-reserved", "l4-ondemand", "l4-dws"):
        assert not pool(dev_capture, name).inputs["nodeConfig"].get("spot"), name


def test_on_demand_pool_scales_from_zero(dev_capture):
    ondemand = pool(dev_capture, "l4-ondemand").inputs
    assert ondemand["autoscaling"]["totalMinNodeCount"] == 0
    assert ondemand["autoscaling"]["totalMaxNodeCount"] == 24


def test_dws_pool_uses_queued_provisioning_without_reservations(dev_capture):
    dws = pool(dev_capture, "l4-dws").inputs
    assert dws["queuedProvisioning"] == {"enabled": True}
    assert dws["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}
    assert dws["autoscaling"]["totalMinNodeCount"] == 0
    for name in ("l4-reserved", "l4-ondemand", "l4-spot"):
        assert not (pool(dev_capture, name).inputs.get("queuedProvisioning") or {}).get("enabled"), name


def test_only_the_reserved_pool_may_consume_a_reservation(dev_capture):
    for r in gpu_pools(dev_capture):
        affinity = r.inputs["nodeConfig"]["reservationAffinity"]["consumeReservationType"]
        expected = "SPECIFIC_RESERVATION" if r.name == "l4-reserved-pool" else "NO_RESERVATION"
        assert affinity == expected, r.name


def test_one_gpu_pool_per_static_flavor_with_the_flavors_labels_and_taints(dev_capture):
    model = flavors(parse_platform(load_dev_platform_raw()))
    static = {name: f for name, f in model.items() if not f.is_nap}
    assert sorted(r.name.removesuffix("-pool") for r in gpu_pools(dev_capture)) == sorted(static)
    for name, flavor in static.items():
        node = pool(dev_capture, name).inputs["nodeConfig"]
        assert node["labels"] == flavor.own_labels, name
        assert node["taints"] == [t.for_gke() for t in flavor.own_taints], name
        assert {"key": "batch-platform/capacity", "value": flavor.capacity, "effect": "NO_SCHEDULE"} in node["taints"]
        assert node["machineType"] == flavor.machine.name
        [accel] = node["guestAccelerators"]
        assert (accel["type"], accel["count"]) == (flavor.accelerator, flavor.gpus_per_node)


def test_every_gpu_pool_lets_gke_install_the_driver(dev_capture):
    for r in gpu_pools(dev_capture):
        for accel in r.inputs["nodeConfig"]["guestAccelerators"]:
            assert accel["gpuDriverInstallationConfig"]["gpuDriverVersion"] == "DEFAULT", r.inputs["name"]


def test_every_pool_uses_gke_metadata_server_and_shielded_nodes(dev_capture):
    for r in dev_capture.of_type(NODE_POOL):
        node = r.inputs["nodeConfig"]
        assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, r.name
        assert node["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}, r.name


def test_pools_sit_in_the_clusters_zones(dev_capture):
    cluster_zones = set(the_cluster(dev_capture).inputs["nodeLocations"])
    assert cluster_zones == set(RAW["zones"])
    for r in dev_capture.of_type(NODE_POOL):
        assert set(r.inputs["nodeLocations"]) <= cluster_zones, r.name
        assert r.inputs["location"] == RAW["region"]


def test_system_pool_has_no_gpus_and_follows_the_config(dev_capture):
    system = pool(dev_capture, "system").inputs
    spec = RAW["cluster"]["systemPool"]
    assert not system["nodeConfig"].get("guestAccelerators")
    assert system["nodeConfig"]["machineType"] == spec["machineType"]
    assert system["autoscaling"]["totalMinNodeCount"] == spec["minNodes"]
    assert system["autoscaling"]["totalMaxNodeCount"] == spec["maxNodes"]
    assert not system["nodeConfig"].get("taints")


# --- node auto-provisioning ---------------------------------------------------------------------


def test_nap_is_enabled_and_packs_nodes(dev_capture):
    autoscaling = the_cluster(dev_capture).inputs["clusterAutoscaling"]
    assert autoscaling["enabled"] is True
    assert autoscaling["autoscalingProfile"] == "OPTIMIZE_UTILIZATION"
    assert set(autoscaling["autoProvisioningLocations"]) <= set(RAW["zones"])


def test_nap_gpu_limits_cover_every_pool_at_its_maximum(dev_capture):
    """GKE counts static pools against the cluster limits too; derived from the captured pools."""
    pool_gpus: dict[str, int] = defaultdict(int)
    for r in gpu_pools(dev_capture):
        for accel in r.inputs["nodeConfig"]["guestAccelerators"]:
            pool_gpus[accel["type"]] += pool_max_nodes(r) * accel["count"]
    limits = resource_limits(dev_capture)
    assert pool_gpus == {"nvidia-l4": 146}
    for accelerator, gpus in pool_gpus.items():
        assert limits[accelerator]["maximum"] >= gpus, accelerator
    # ...and NAP still has each shape's allowance on top of the static pools.
    for shape in RAW["nodeAutoProvisioning"]["shapes"]:
        accelerator = shape["accelerator"]["type"]
        assert limits[accelerator]["maximum"] >= pool_gpus.get(accelerator, 0) + shape["maxGpus"]


def test_nap_cpu_and_memory_limits_cover_every_pool_including_system(dev_capture):
    cpu = memory = 0
    for r in dev_capture.of_type(NODE_POOL):
        machine = CATALOG[r.inputs["nodeConfig"]["machineType"]]
        cpu += pool_max_nodes(r) * machine["vcpus"]
        memory += pool_max_nodes(r) * machine["memoryGb"]
    limits = resource_limits(dev_capture)
    assert limits["cpu"]["maximum"] >= cpu
    assert limits["memory"]["maximum"] >= memory


def test_nap_provisions_nodes_as_the_node_service_account(dev_capture):
    defaults = the_cluster(dev_capture).inputs["clusterAutoscaling"]["autoProvisioningDefaults"]
    assert defaults["serviceAccount"] == node_sa_email(dev_capture)
    assert defaults["upgradeSettings"]["maxSurge"] == 0


# --- identity -------------------------------------------------------------------------------------


def test_nothing_runs_as_the_default_compute_service_account(dev_capture):
    for r in dev_capture.resources:
        for path, value in walk(r.inputs):
            assert not (isinstance(value, str) and DEFAULT_COMPUTE_SA in value), f"{r.name}{path} = {value}"
    email = node_sa_email(dev_capture)
    assert email.startswith(f"{PREFIX}-nodes@")
    assert the_cluster(dev_capture).inputs["nodeConfig"]["serviceAccount"] == email
    for r in dev_capture.of_type(NODE_POOL):
        assert r.inputs["nodeConfig"]["serviceAccount"] == email, r.name


def test_workload_identity_pool_is_the_projects(dev_capture):
    assert the_cluster(dev_capture).inputs["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT}.svc.id.goog"}


@pytest.mark.parametrize("team", TEAMS)
def test_team_ksa_may_impersonate_the_team_gsa_once_the_cluster_exists(dev_capture, team):
    gsa = account(dev_capture, f"{PREFIX}-{team}")
    [binding] = [r for r in dev_capture.of_type(WI_MEMBER) if r.inputs["serviceAccountId"] == gsa.outputs["name"]]
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert binding.inputs["member"] == f"serviceAccount:{PROJECT}.svc.id.goog[{team}/{team}-ksa]"
    assert the_cluster(dev_capture).urn in binding.dependencies
    assert gsa.urn in binding.dependencies


def test_no_grant_is_owner_editor_or_storage_admin(dev_capture):
    team_members = {f"serviceAccount:{team_email(dev_capture, t)}" for t in TEAMS}
    granted_to_teams = set()
    for r in dev_capture.resources:
        role = r.inputs.get("role")
        if role is None:
            continue
        assert role not in FORBIDDEN_ROLES, f"{r.name} grants {role}"
        if r.inputs.get("member") in team_members:
            granted_to_teams.add(role)
    assert granted_to_teams, "team service accounts should get some (narrow) roles"
    assert not granted_to_teams & FORBIDDEN_ROLES


def test_iam_grants_are_additive_never_authoritative(dev_capture):
    """IAMBinding/IAMPolicy would wipe grants made outside this stack (the reference used a binding)."""
    for r in dev_capture.resources:
        if r.type.startswith("gcp:"):
            assert "IAMBinding" not in r.type and "IAMPolicy" not in r.type, r.type


@pytest.mark.parametrize("team", TEAMS)
def test_team_gsa_reaches_only_its_own_bucket(dev_capture, team):
    email = team_email(dev_capture, team)
    bucket_grants = [r for r in dev_capture.resources
                     if r.type == "gcp:storage/bucketIAMMember:BucketIAMMember" and r.inputs["member"] == f"serviceAccount:{email}"]
    assert [r.inputs["bucket"] for r in bucket_grants] == [f"{PROJECT}-{PREFIX}-{team}"]
    assert dev_capture.stack_outputs["teamBuckets"][team] == f"{PROJECT}-{PREFIX}-{team}"


# --- network and control plane ----------------------------------------------------------------------


def test_private_nodes_and_a_closed_control_plane(dev_capture):
    inputs = the_cluster(dev_capture).inputs
    private = inputs["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True
    assert private["masterIpv4CidrBlock"] == RAW["network"]["masterCidr"]
    authorized = inputs["masterAuthorizedNetworksConfig"]
    assert authorized["gcpPublicCidrsAccessEnabled"] is False
    assert authorized["cidrBlocks"] == [
        {"cidrBlock": n["cidr"], "displayName": n["name"]} for n in RAW["network"]["authorizedNetworks"]
    ]


def test_secondary_ranges_are_named_and_used_by_the_cluster(dev_capture):
    subnet = only(dev_capture.of_type(SUBNET))
    ranges = {r["rangeName"]: r["ipCidrRange"] for r in subnet.inputs["secondaryIpRanges"]}
    assert subnet.inputs["ipCidrRange"] == RAW["network"]["subnetCidr"]
    assert sorted(ranges.values()) == sorted([RAW["network"]["podsCidr"], RAW["network"]["servicesCidr"]])
    cluster = the_cluster(dev_capture)
    policy = cluster.inputs["ipAllocationPolicy"]
    assert ranges[policy["clusterSecondaryRangeName"]] == RAW["network"]["podsCidr"]
    assert ranges[policy["servicesSecondaryRangeName"]] == RAW["network"]["servicesCidr"]
    assert subnet.urn in cluster.dependencies
    assert subnet.inputs["privateIpGoogleAccess"] is True


def test_cloud_nat_gives_private_nodes_egress(dev_capture):
    nat = only(dev_capture.of_type(NAT))
    router = only(dev_capture.of_type(ROUTER))
    assert nat.inputs["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert nat.inputs["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}
    assert nat.inputs["router"] == router.inputs["name"]
    assert nat.inputs["region"] == router.inputs["region"] == RAW["region"]
    assert router.urn in nat.dependencies


# --- Pulumi hygiene ---------------------------------------------------------------------------------


def test_every_component_registers_its_outputs(dev_capture):
    components = [r for r in dev_capture.resources if r.type.startswith("gpu-batch:")]
    assert components
    missing = [r.urn for r in components if r.urn not in dev_capture.registered_outputs]
    assert not missing


def test_every_resource_uses_an_explicit_provider(dev_capture):
    gcp_provider = only(dev_capture.of_type("pulumi:providers:gcp"))
    providers = {r.urn for r in dev_capture.resources if r.type.startswith("pulumi:providers:")}
    for r in dev_capture.resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        assert r.provider, f"{r.name} would use a default provider"
        assert r.provider.rsplit("::", 1)[0] in providers, f"{r.name}: {r.provider}"
        if r.type.startswith("gcp:"):
            assert r.provider.startswith(gcp_provider.urn + "::"), f"{r.name}: {r.provider}"


def test_nothing_waits_for_a_gpu_node_pool(dev_capture):
    """GPU pools take many minutes (or never get capacity); nothing, Kubernetes side included, may wait on one."""
    gpu = {r.urn for r in gpu_pools(dev_capture)} | {r.urn for r in dev_capture.of_type(GPU_POOL_COMPONENT)}
    assert len(gpu) == 10
    for r in dev_capture.resources:
        assert not set(r.dependencies) & gpu, f"{r.name} depends on {set(r.dependencies) & gpu}"
        if r.type != RESERVATION:
            assert r.parent not in {p.urn for p in gpu_pools(dev_capture)}, r.name


def test_stack_outputs(dev_capture):
    outputs = dev_capture.stack_outputs
    cluster = the_cluster(dev_capture)
    assert outputs["clusterName"] == cluster.inputs["name"] == PREFIX
    assert outputs["clusterEndpoint"] == cluster.outputs["endpoint"]
    kubeconfig = json.loads(outputs["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{outputs['clusterEndpoint']}"
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    emails = outputs["teamServiceAccounts"]
    assert sorted(emails) == sorted(TEAMS)
    assert len(set(emails.values())) == 4
    for team, email in emails.items():
        assert email == team_email(dev_capture, team) == f"{PREFIX}-{team}@{PROJECT}.iam.gserviceaccount.com"
