"""What a real GCP project needs that the mocks cannot see: each test encodes a documented behaviour
of GKE, the pinned charts or the provider, and names it.

Covered: the webhook firewall (design decision D6, docs/design.md), upgrade settings, replacements,
APIs, the system pool's start size and endpoint reachability, and Google Groups for RBAC.
"""

from __future__ import annotations

import json

import pytest
import yaml

from components.gcp import services
from components.gcp.node_pools import IN_PLACE_UPGRADE
from components.review.replace import forced_replacements
from components.kubernetes import controllers
from components.kubernetes.controller_config import kueue_values
from components.model import endpoint_warnings, parse_platform
from components.capture import Capture, autoname

from conftest import assert_issue, config_error, load_dev_platform_raw

FIREWALL = "gcp:compute/firewall:Firewall"
NODE_POOL = "gcp:container/nodePool:NodePool"
RESERVATION = "gcp:compute/reservation:Reservation"
SERVICE = "gcp:projects/service:Service"


def one(c: Capture, type_: str, name: str):
    return c.named(name, type_)


# ------------------------------------------------------------------ webhook firewall

def test_controller_ports_are_the_pinned_charts_ports():
    """Kueue 0.19.2 charts/kueue/templates/manager/manager.yaml: containerPort 8082 (visibility) and 9443
    (webhook-server); JobSet 0.12.0 charts/jobset/templates/controller/deployment.yaml: containerPort 9443
    (webhook). The API server calls exactly these behind the Services' port 443."""
    assert controllers.API_SERVER_TARGETS == {"kueue-webhook": 9443, "kueue-visibility": 8082, "jobset-webhook": 9443}
    assert controllers.control_plane_ports() == [8082, 9443]


def test_kueue_configuration_and_webhook_service_read_the_same_ports():
    """Kueue 0.19.2 charts/kueue/values.yaml: `webhook.port` in the manager config and the webhook
    Service's targetPort must agree (the chart sets both to 9443); the firewall reads the same constants."""
    values = kueue_values(parse_platform(load_dev_platform_raw()))
    config = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    assert config["webhook"]["port"] == controllers.KUEUE_WEBHOOK_PORT
    assert config["visibilityServer"]["bindPort"] == controllers.KUEUE_VISIBILITY_PORT
    assert [p["targetPort"] for p in values["webhookService"]["ports"]] == [controllers.KUEUE_WEBHOOK_PORT]


def test_control_plane_reaches_the_webhooks_on_every_node(dev_capture):
    """GKE "Creating a private cluster" > "Adding firewall rules for specific use cases"
    (https://cloud.google.com/kubernetes-engine/docs/how-to/private-clusters#add_firewall_rules): the
    control plane reaches private nodes only on TCP 443 and 10250; a webhook on another port needs an
    ingress rule from the control-plane CIDR. Kueue's webhooks are failurePolicy Fail, so without it
    every Kueue object create fails."""
    platform = parse_platform(load_dev_platform_raw())
    rule = one(dev_capture, FIREWALL, "control-plane-webhooks").inputs
    assert rule["direction"] == "INGRESS"
    assert rule["sourceRanges"] == [platform.network.master_cidr]
    # 6443: the metrics adapter's APIService (dev runs a model server; components/monitoring/adapter.py)
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["6443", "8082", "9443"]}]
    node_sa = one(dev_capture, "gcp:serviceaccount/account:Account", "nodes-sa").outputs["email"]
    assert rule["targetServiceAccounts"] == [node_sa]
    # Every node the cluster can have runs as that account (pools and NAP), so the rule covers them all.
    for pool in dev_capture.of_type(NODE_POOL):
        assert pool.inputs["nodeConfig"]["serviceAccount"] == node_sa
    cluster = one(dev_capture, "gcp:container/cluster:Cluster", "cluster-gke").inputs
    assert cluster["clusterAutoscaling"]["autoProvisioningDefaults"]["serviceAccount"] == node_sa


# ------------------------------------------------------------------ APIs

def _deps(c: Capture, type_: str, name: str) -> set[str]:
    by_urn = c.by_urn()
    return {by_urn[u].inputs.get("service") for u in one(c, type_, name).dependencies if by_urn[u].type == SERVICE}


def test_every_api_is_enabled_by_the_stack_and_never_disabled(dev_capture):
    """GKE "Use Image streaming": enable the Container File System API; project IAM bindings call the
    Cloud Resource Manager API (projects.getIamPolicy/setIamPolicy); GKE "Access Filestore instances with
    the Filestore CSI driver", Before you begin: enable the Cloud Filestore API. `disable_on_destroy` defaults to
    true in the provider (pulumi_gcp projects.Service docstring), which would switch the API off for
    everything else in the project on `pulumi destroy`."""
    enabled = {r.inputs["service"]: r.inputs for r in dev_capture.of_type(SERVICE)}
    assert set(enabled) == {
        "compute.googleapis.com", "container.googleapis.com", "containerfilesystem.googleapis.com",
        "iam.googleapis.com", "iamcredentials.googleapis.com", "cloudresourcemanager.googleapis.com",
        "storage.googleapis.com", "logging.googleapis.com", "monitoring.googleapis.com", "file.googleapis.com",
        "cloudkms.googleapis.com", "binaryauthorization.googleapis.com",
    }
    for api, inputs in enabled.items():
        assert inputs["disableOnDestroy"] is False, api


@pytest.mark.parametrize("type_, name, apis", [
    ("gcp:container/cluster:Cluster", "cluster-gke",
     {services.CONTAINER, services.COMPUTE, services.CONTAINER_FILESYSTEM, services.LOGGING, services.MONITORING}),
    ("gcp:filestore/instance:Instance", "datasets-team-b-filestore", {services.FILESTORE, services.COMPUTE}),
    (NODE_POOL, "l4-spot-pool", {services.CONTAINER, services.CONTAINER_FILESYSTEM}),
    (NODE_POOL, "system-pool", {services.CONTAINER, services.CONTAINER_FILESYSTEM}),
    ("gcp:compute/network:Network", "network-vpc", {services.COMPUTE}),
    (FIREWALL, "control-plane-webhooks", {services.COMPUTE}),
    (RESERVATION, "l4-reserved-reservation", {services.COMPUTE}),
    ("gcp:serviceaccount/account:Account", "team-team-a-sa", {services.IAM}),
    ("gcp:projects/iAMMember:IAMMember", "nodes-logging.logWriter", {services.CLOUD_RESOURCE_MANAGER}),
    ("gcp:storage/bucket:Bucket", "team-team-a-bucket", {services.STORAGE}),
    ("gcp:serviceaccount/iAMMember:IAMMember", "team-team-a-workload-identity", {services.IAM, services.IAM_CREDENTIALS}),
])
def test_each_resource_waits_for_exactly_the_apis_it_calls(dev_capture, type_, name, apis):
    """A resource created before its API is enabled fails with SERVICE_DISABLED (403) on a new project."""
    assert _deps(dev_capture, type_, name) == apis


# ------------------------------------------------------------------ system pool, endpoint

def test_system_pool_exists_with_nodes_before_the_kubernetes_layer(dev_capture):
    """GKE NodePool API: initialNodeCount is per zone of the pool's locations; an autoscaled pool created
    with 0 nodes waits for a pending pod to scale up, so Kueue's first pod would wait on the autoscaler."""
    pool = one(dev_capture, NODE_POOL, "system-pool")
    zones = len(pool.inputs["nodeLocations"])
    assert pool.inputs["initialNodeCount"] * zones >= pool.inputs["autoscaling"]["totalMinNodeCount"] >= 1
    # It only sizes the creation: a later change must not replace the pool (initialNodeCount forces a new one).
    assert "initialNodeCount" in pool.options["ignoreChanges"]


def test_dev_warns_that_no_authorized_network_reaches_the_public_endpoint():
    """GKE "Add authorized networks for control plane access": the public endpoint admits only the
    authorized networks' public addresses; dev authorizes only private ranges (10.40.0.0/22, 192.168.0.0/24)."""
    [warning] = endpoint_warnings(parse_platform(load_dev_platform_raw()))
    assert warning.path == "network.authorizedNetworks"
    assert "public endpoint" in warning.message and "authorizedNetworks[N].cidr" in warning.fix


def test_a_public_admin_network_silences_the_warning():
    raw = load_dev_platform_raw()
    raw["network"]["authorizedNetworks"].append({"name": "admin", "cidr": "34.120.0.0/24"})
    assert endpoint_warnings(parse_platform(raw)) == []


def test_private_endpoint_kubeconfig_targets_the_private_endpoint(capture_with):
    """With enablePrivateEndpoint the control plane has no reachable public endpoint; the kubeconfig must
    use privateClusterConfig.privateEndpoint, reached from the authorized private ranges (the VPC)."""
    after = capture_with(lambda p: p["cluster"].update(privateEndpoint=True))
    server = json.loads(after.stack_outputs["kubeconfig"])["clusters"][0]["cluster"]["server"]
    cluster = one(after, "gcp:container/cluster:Cluster", "cluster-gke")
    assert server == f"https://{cluster.outputs['privateClusterConfig']['privateEndpoint']}"
    raw = load_dev_platform_raw()
    raw["cluster"]["privateEndpoint"] = True
    assert endpoint_warnings(parse_platform(raw)) == []  # dev's private ranges reach the private endpoint


# ------------------------------------------------------------------ upgrade settings

def test_reserved_pool_upgrades_without_surge(dev_capture):
    """GKE "Ensure resources for node upgrades" (https://cloud.google.com/kubernetes-engine/docs/how-to/node-upgrades-quota):
    surge nodes of a pool with specific reservation affinity need free reservation capacity; a fully
    used reservation has none, so a surge upgrade stalls. maxSurge 0 / maxUnavailable 1 upgrades in place."""
    settings = one(dev_capture, NODE_POOL, "l4-reserved-pool").inputs["upgradeSettings"]
    assert settings == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}
    for name in ("l4-ondemand-pool", "l4-spot-pool"):
        assert one(dev_capture, NODE_POOL, name).inputs["upgradeSettings"]["maxSurge"] == IN_PLACE_UPGRADE["max_surge"]


def test_dws_pool_leaves_the_upgrade_strategy_to_gke(dev_capture):
    """GKE API NodePoolUpdateStrategy: SHORT_LIVED "is the dedicated upgrade strategy for QueuedProvisioning
    and flex start node pools"; the provider accepts only SURGE or BLUE_GREEN, so nothing is set."""
    assert "upgradeSettings" not in one(dev_capture, NODE_POOL, "l4-dws-pool").inputs


# ------------------------------------------------------------------ replacements

def test_pools_and_reservations_are_auto_named_and_replaced_create_first(dev_capture):
    """pulumi-gcp provider/resources.go `SetAutonaming(255, "-")`: an unset `name` is auto-named with a random
    suffix and a replacement gets a new name, so Pulumi's default create-before-delete replacement works;
    an explicit name would collide (GKE pool and reservation names are unique) or force delete-first.
    The reserved pool is the exception (tests/gcp/test_gpu_pool_lifecycle.py): it is replaced delete-first."""
    for r in dev_capture.of_type(NODE_POOL) + dev_capture.of_type(RESERVATION):
        assert r.inputs["name"] == autoname(r.type, r.name), r.name  # the program set no name
        assert r.options["deleteBeforeReplace"] is (r.name == "l4-reserved-pool"), r.name


def test_a_replace_forcing_change_keeps_the_flavor_label(dev_capture, capture_with):
    """terraform-provider-google node_config.go: nodeConfig.guest_accelerator is ForceNew (components/review/replace.py). The replacement
    pool carries the same batch-platform/flavor label, so the ResourceFlavor (which selects by label) is unchanged."""
    after = capture_with(lambda p: p["gpuPools"][2].update(
        machineType="g2-standard-12", accelerator={"type": "nvidia-l4", "count": 1}, maxNodes=72))
    before_pool, after_pool = one(dev_capture, NODE_POOL, "l4-spot-pool"), one(after, NODE_POOL, "l4-spot-pool")
    assert forced_replacements(NODE_POOL, before_pool.inputs, after_pool.inputs) == ["nodeConfig.guestAccelerators"]
    assert after_pool.inputs["nodeConfig"]["labels"]["batch-platform/flavor"] == "l4-spot"


def test_machine_type_change_replaces_the_reservation_and_its_pool(dev_capture, capture_with):
    """terraform-provider-google resource_compute_reservation.go: specific_reservation.instance_properties
    is ForceNew; the pool's reservationAffinity (ForceNew) names the new reservation, so both are replaced."""
    def bigger(p):
        p["gpuPools"][0]["machineType"] = "g2-standard-48"
        p["gpuPools"][0]["accelerator"]["count"] = 4
    after = capture_with(bigger)
    res_before, res_after = one(dev_capture, RESERVATION, "l4-reserved-reservation"), one(after, RESERVATION, "l4-reserved-reservation")
    assert forced_replacements(RESERVATION, res_before.inputs, res_after.inputs) == ["specificReservation.instanceProperties"]
    pool_before, pool_after = one(dev_capture, NODE_POOL, "l4-reserved-pool"), one(after, NODE_POOL, "l4-reserved-pool")
    assert "nodeConfig.guestAccelerators" in forced_replacements(NODE_POOL, pool_before.inputs, pool_after.inputs)


def test_in_place_changes_are_not_replacements(dev_capture):
    """Autoscaling bounds and node counts are updated in place (not ForceNew in resource_container_node_pool.go)."""
    before = one(dev_capture, NODE_POOL, "l4-spot-pool").inputs
    after = {**before, "autoscaling": {**before["autoscaling"], "totalMaxNodeCount": 40}}
    assert forced_replacements(NODE_POOL, before, after) == []


def test_pool_name_must_leave_room_for_the_auto_name_suffix():
    """GKE node pool names are at most 40 characters; `<pool>-pool-` plus Pulumi's 7-character suffix."""
    raw = load_dev_platform_raw()
    raw["gpuPools"][1]["name"] = "l4-ondemand-with-a-long-name"  # 28 characters
    assert_issue(config_error(raw), "gpuPools[1].name", "is 41 characters; GCP allows 1-40", fix="shorten the pool name by 1")


def test_plan_says_replace_loudly_against_the_previous_plan(dev_capture, capture_with):
    """The offline plan compares with the last build/plan/<stack>/resources.json and names each resource
    a replace-forcing change would replace, and in which order."""
    from components.plan import replacement_lines

    after = capture_with(lambda p: p["gpuPools"][2].update(
        machineType="g2-standard-12", accelerator={"type": "nvidia-l4", "count": 1}, maxNodes=72))
    lines = replacement_lines(dev_capture.to_json(), after)
    assert lines == ["REPLACE gcp:container/nodePool:NodePool l4-spot-pool: nodeConfig.guestAccelerators changed; "
                     "the new one is created before the old one is deleted"]


# ------------------------------------------------------------------ Google Groups for RBAC

def test_group_members_need_google_groups_for_rbac():
    """GKE "Configure Google Groups for RBAC" (https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac):
    a RoleBinding to a Google group is honoured only when the cluster's authenticator groups config names
    the gke-security-groups@<domain> group that contains it; otherwise the binding grants nothing, silently."""
    raw = load_dev_platform_raw()
    raw["cluster"].pop("securityGroup", None)
    raw["teams"][0]["members"] = ["user:alice@example.com", "group:team-a@example.com"]
    assert_issue(config_error(raw), "teams[0].members[1]", "Google Groups for RBAC",
                 fix="cluster.securityGroup: gke-security-groups@<your-domain>")


def test_security_group_configures_the_cluster(capture_with):
    def with_group(p):
        p["cluster"]["securityGroup"] = "gke-security-groups@example.com"
        p["teams"][0]["members"] = ["group:team-a@example.com"]
    cluster = one(capture_with(with_group), "gcp:container/cluster:Cluster", "cluster-gke").inputs
    assert cluster["authenticatorGroupsConfig"] == {"securityGroup": "gke-security-groups@example.com"}


def test_security_group_must_be_named_gke_security_groups():
    """The same GKE page: the group must be named gke-security-groups."""
    raw = load_dev_platform_raw()
    raw["cluster"]["securityGroup"] = "admins@example.com"
    assert_issue(config_error(raw), "cluster.securityGroup")


# ------------------------------------------------------------------ round 2: authorized-network names

@pytest.mark.parametrize("name", ["Office VPN", "CI runners (us-east)", "Büro München"])
def test_authorized_network_display_names_are_free_text(name, capture_with):
    """GKE API v1 MasterAuthorizedNetworksConfig.CidrBlock: "display_name is an optional field for users to
    identify CIDR blocks" (a plain string): a name with spaces or capitals is valid and reaches the cluster."""
    def named(p):
        p["network"]["authorizedNetworks"][0]["name"] = name
    raw = load_dev_platform_raw()
    named(raw)
    parse_platform(raw)
    blocks = one(capture_with(named), "gcp:container/cluster:Cluster", "cluster-gke").inputs[
        "masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert blocks[0]["displayName"] == name


def test_an_empty_authorized_network_name_is_refused():
    raw = load_dev_platform_raw()
    raw["network"]["authorizedNetworks"][0]["name"] = ""
    assert_issue(config_error(raw), "network.authorizedNetworks[0].name")
