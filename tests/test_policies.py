"""The policy pack (policies/): every policy passes the dev stack and catches its failure.

Bad stacks come from real config mutations where the model allows the bad state, and otherwise from
mutated captures of the real program (the case the policies exist for: someone editing code or
bypassing the model). The policies are run by policies.offline, which builds the same argument
objects as the CLI's analyzer host; one test also runs the pack exactly as the CLI does (a gRPC
analyzer plugin started from policies/) and compares its verdicts with the offline runner's.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import yaml

from components.offline import PROJECT, REPO, Capture, Resource, autoname, run_stack
from policies import offline
from policies.gpu_batch_policies import PACK_NAME, POLICIES
from policies.gpu_batch_policies.common import UNKNOWN, plain
from components.cli import main as cli
from policies.offline import Report, resolve_config, run_policies

POLICY = {p.name: p for p in POLICIES}
PLATFORM_KEY = f"{PROJECT}:platform"
K8S_PROVIDER = "urn:pulumi:dev::gpu-batch-platform::pulumi:providers:kubernetes::kubernetes::kubernetes-id"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's markers for unknown values
UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"
SECRET_SIG = "4dabf18193072939515e22adb298388d"

T_CLUSTER = "gcp:container/cluster:Cluster"
T_POOL = "gcp:container/nodePool:NodePool"
T_RESERVATION = "gcp:compute/reservation:Reservation"


def gke_pool(flavor: str) -> str:
    """The GKE name the provider auto-names the pool of `flavor` with (stable under the mocks)."""
    return autoname(T_POOL, f"{flavor}-pool")


RESERVATION = autoname(T_RESERVATION, "l4-reserved-reservation")
T_CQ = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
T_LQ = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
T_RF = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
T_CHART = "kubernetes:helm.sh/v4:Chart"


# ---------------------------------------------------------------------------------------------------
# Fixtures and helpers


def dev_config() -> dict:
    # A JSON round trip, not deepcopy: Pulumi.dev.yaml shares one `queues` mapping between teams.
    return json.loads(json.dumps(yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]))


@pytest.fixture(scope="module")
def policy_dev() -> Capture:
    """The dev stack under mocks, once per module; tests work on clones."""
    return run_stack("dev")


@pytest.fixture
def dev(policy_dev: Capture) -> Capture:
    """A private clone of the dev capture to mutate."""
    return copy.deepcopy(policy_dev)


def res(capture: Capture, type_: str, name: str) -> Resource:
    """The captured resource of `type_` whose logical name or metadata/GCP name is `name`."""
    found = [r for r in capture.resources if r.type == type_ and name in (
        r.name, r.inputs.get("name"), (r.inputs.get("metadata") or {}).get("name"))]
    assert len(found) == 1, f"{len(found)} {type_} named {name!r}"
    return found[0]


def edit(resource: Resource, change: Callable[[dict], Any]) -> Resource:
    """Apply `change` to the resource's inputs; its outputs (what stack policies see) follow."""
    change(resource.inputs)
    computed = {k: v for k, v in resource.outputs.items() if k not in resource.inputs}
    resource.outputs = {**copy.deepcopy(resource.inputs), **computed}
    return resource


def add(capture: Capture, type_: str, name: str, inputs: dict, options: Optional[dict] = None) -> Resource:
    """Add a crafted resource (as the program would register it) to the capture."""
    resource = Resource(
        urn=f"urn:pulumi:{capture.stack}::{PROJECT}::{type_}::{name}", type=type_, name=name, custom=True,
        parent="", inputs=inputs, outputs=copy.deepcopy(inputs), dependencies=[],
        provider=K8S_PROVIDER if type_.startswith("kubernetes:") else "", options=options or {},
    )
    capture.resources.append(resource)
    return resource


def check(capture: Capture, name: str, config: Optional[dict] = None, view: str = "engine") -> Report:
    """Run one policy (with its schema defaults, plus `config`) on the capture, in the engine's view
    unless `view="program"` (a chart's values are visible only there: see test_engine_view.py)."""
    return run_policies(capture, [POLICY[name]], {name: config} if config else None, view=view)


def assert_violation(report: Report, name: str, message: str, urn: Optional[str] = None,
                     enforcement: Optional[str] = None) -> None:
    """`report` holds a violation of policy `name` whose message contains `message` (on `urn`)."""
    found = report.for_policy(name)
    matching = [v for v in found if message in v.message and (urn is None or v.urn == urn)]
    assert matching, f"no {name} violation containing {message!r} on {urn}; got:\n" + "\n".join(
        f"  {v.urn}: {v.message}" for v in found)
    expected = enforcement or (POLICY[name].enforcement_level.value)
    assert all(v.enforcement == expected for v in matching)
    assert all(v.description == POLICY[name].description for v in matching)
    assert f"{name}: {matching[0].urn or '(stack)'}" in report.format()


def assert_clean(report: Report, name: str) -> None:
    assert not report.for_policy(name), "\n".join(v.message for v in report.for_policy(name))


# ---------------------------------------------------------------------------------------------------
# The pack itself


def test_pack_metadata():
    assert len(POLICIES) >= 20
    assert len(POLICY) == len(POLICIES), "policy names must be unique"
    for policy in POLICIES:
        assert policy.name and policy.description and "Fix" in policy.description, policy.name
        assert policy.enforcement_level is not None
    advisory = {p.name for p in POLICIES if p.enforcement_level.value == "advisory"}
    assert advisory == {"reservations-specific-only", "kueue-borrowing-reachable", "cost-within-budget"}
    assert (REPO / "policies" / "PulumiPolicy.yaml").exists()
    pack = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    requirements = (REPO / "policies" / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements and "pulumi==3.272.0" in requirements
    readme = (REPO / "policies" / "README.md").read_text()
    for policy in POLICIES:
        assert f"| `{policy.name}` | {policy.enforcement_level.value} |" in readme, policy.name


def test_pack_does_not_import_the_project():
    """The pack runs in its own venv, where `components` does not exist."""
    for path in (REPO / "policies" / "gpu_batch_policies").glob("*.py"):
        text = path.read_text()
        assert "import components" not in text and "from components" not in text, path
    main_text = (REPO / "policies" / "__main__.py").read_text()
    assert "components" not in main_text.split('"""', 2)[-1]


@pytest.fixture(scope="module")
def stack_reports() -> dict[str, Report]:
    from conftest import STACKS, capture_of, load_stack_config

    return {stack: run_policies(capture_of(load_stack_config(stack), stack)) for stack in STACKS}


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("name", [p.name for p in POLICIES])
def test_every_stack_passes(stack_reports: dict[str, Report], stack: str, name: str):
    assert_clean(stack_reports[stack], name)


def test_config_defaults_applied_as_the_cli_does():
    resolved = resolve_config(POLICIES)
    assert resolved["gke-master-authorized-networks"] == (POLICY["gke-master-authorized-networks"].enforcement_level,
                                                          {"minPrefixLength": 8})
    assert resolved["gke-private-nodes"][1] is None  # no schema: no config at all
    given = {"all": {"enforcementLevel": "advisory"}, "gpu-pools-scale-from-zero": {"maxMinNodes": 1}}
    resolved = resolve_config(POLICIES, given)
    assert resolved["gpu-pools-scale-from-zero"][0].value == "advisory"
    assert resolved["gpu-pools-scale-from-zero"][1] == {"maxMinNodes": 1}
    with pytest.raises(offline.PolicyConfigError, match="minPrefixLength"):
        resolve_config(POLICIES, {"gke-master-authorized-networks": {"minPrefixLength": "wide"}})


# ---------------------------------------------------------------------------------------------------
# Security


def test_private_nodes(dev: Capture):
    cluster = edit(res(dev, T_CLUSTER, "cluster-gke"), lambda p: p["privateClusterConfig"].update(enablePrivateNodes=False))
    pool = edit(res(dev, T_POOL, "l4-spot-pool"), lambda p: p.update(networkConfig={"enablePrivateNodes": False}))
    report = check(dev, "gke-private-nodes")
    assert_violation(report, "gke-private-nodes", "every node gets a public IP address", cluster.urn)
    assert_violation(report, "gke-private-nodes", "enablePrivateNodes: false", pool.urn)


def test_open_control_plane_is_stopped_by_the_model_before_the_pack():
    """An authorized network of 0.0.0.0/0 never reaches the pack: the typed model rejects it (issue 9),
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


# ---------------------------------------------------------------------------------------------------
# Kueue integrity


def _set_gpu_quota(capture: Capture, queue: str, flavor: str, nominal: str, field: str = "nominalQuota") -> None:
    def change(props: dict) -> None:
        for group in props["spec"]["resourceGroups"]:
            for fl in group["flavors"]:
                if fl["name"] == flavor:
                    for r in fl["resources"]:
                        if r["name"] == "nvidia.com/gpu":
                            r[field] = nominal
    edit(res(capture, T_CQ, queue), change)


def test_quota_over_reserved_capacity(dev: Capture):
    """The reference's bug: the teams' reserved quotas add up to twice the reserved GPUs."""
    for team in ("team-a", "team-b", "team-c", "team-d"):
        _set_gpu_quota(dev, f"{team}-high", "l4-reserved", "4")
    report = check(dev, "kueue-gpu-quota-within-capacity")
    assert_violation(report, "kueue-gpu-quota-within-capacity",
                     "flavor 'l4-reserved' is over-subscribed: nominal nvidia.com/gpu quotas sum to 16 (team-a-high 4, "
                     "team-b-high 4, team-c-high 4, team-d-high 4) but the node pool(s) it selects supply 8 "
                     f"({gke_pool('l4-reserved')}: 4 nodes x 2 GPUs)", res(dev, T_RF, "l4-reserved").urn)


def test_quota_over_nap_limit(dev: Capture):
    for team in ("team-a", "team-b", "team-c", "team-d"):
        _set_gpu_quota(dev, f"{team}-compact", "a100-compact-spot", "6")
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
    _set_gpu_quota(dev, "team-a-low", "l4-spot", "100", field="borrowingLimit")
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


# ---------------------------------------------------------------------------------------------------
# The offline runner's report and exit code


def test_offline_report_on_dev_is_clean(capsys):
    assert cli(["policy", "dev"]) == 0
    out = capsys.readouterr().out
    for policy in POLICIES:
        assert f"PASS  [{policy.enforcement_level.value}] {policy.name}" in out
    assert "0 mandatory and 0 advisory violation(s): passed" in out


def _broken(capture: Capture) -> Capture:
    """A GPU pool without its taint, a flavor that does not tolerate its pool, and quota over the reserved capacity."""
    edit(res(capture, T_POOL, "l4-spot-pool"), lambda p: p["nodeConfig"].update(taints=[]))
    edit(res(capture, T_RF, "l4-spot"), lambda p: p["spec"].update(tolerations=[]))
    _set_gpu_quota(capture, "team-a-high", "l4-reserved", "8")
    return capture


def test_offline_report_on_broken_capture(dev: Capture, monkeypatch, capsys):
    broken = _broken(dev)
    monkeypatch.setattr(offline, "run_stack", lambda stack, config=None, preview=False: broken)
    assert cli(["policy", "dev"]) == 1
    out = capsys.readouterr().out
    pool_urn = res(broken, T_POOL, "l4-spot-pool").urn
    assert "FAIL  [mandatory] gpu-pools-capacity-taint (resource)" in out
    assert f"[mandatory] gpu-pools-capacity-taint: {pool_urn}" in out
    assert f"GPU node pool '{gke_pool('l4-spot')}' has no batch-platform/capacity taint" in out
    assert f"[mandatory] kueue-gpu-quota-within-capacity: {res(broken, T_RF, 'l4-reserved').urn}" in out
    assert "flavor 'l4-reserved' is over-subscribed: nominal nvidia.com/gpu quotas sum to 14" in out
    assert f"[mandatory] kueue-flavors-match-nodes: {res(broken, T_RF, 'l4-spot').urn}" in out
    assert "3 mandatory and 0 advisory violation(s): FAILED" in out


def test_offline_config_file(tmp_path: Path, capsys):
    """A stack file the model accepts, judged by a stricter policy config (as with --policy-pack-config):
    the dev stack's /22 VPC block is wider than a minPrefixLength of 23."""
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump({"config": dev_config()}))
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"gke-master-authorized-networks": {"minPrefixLength": 23}}))
    assert cli(["policy", "--config-file", str(path), "--policy-config", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "stack 'broken'" in out
    assert "[mandatory] gke-master-authorized-networks: urn:pulumi:broken::" in out
    # The same violation downgraded by a policy pack config file.
    advisory = tmp_path / "advisory.json"
    advisory.write_text(json.dumps({"gke-master-authorized-networks": {"enforcementLevel": "advisory", "minPrefixLength": 23}}))
    assert cli(["policy", "--config-file", str(path), "--policy-config", str(advisory)]) == 0
    assert "[advisory] gke-master-authorized-networks:" in capsys.readouterr().out


def test_offline_config_the_model_rejects(tmp_path: Path, capsys):
    config = dev_config()
    config[PLATFORM_KEY]["gpuPools"][2]["minNodes"] = 3
    path = tmp_path / "Pulumi.rejected.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    assert cli(["policy", "--config-file", str(path)]) == 2
    assert "before any policy ran" in capsys.readouterr().err


def test_offline_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "components.cli", "policy", "dev", "--json"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["exitCode"] == 0 and len(data["policies"]) == len(POLICIES)


# ---------------------------------------------------------------------------------------------------
# The pack as the Pulumi CLI runs it


def _struct(props: dict):
    from google.protobuf import struct_pb2
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


def _options(resource: Resource):
    from pulumi.runtime.proto import analyzer_pb2
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(resource.options.get("protect")), ignoreChanges=resource.options.get("ignoreChanges") or [],
        additionalSecretOutputs=offline.policy_options(resource).additional_secret_outputs, parent=resource.parent)


@contextmanager
def _pack_process(cwd: Path, program: str):
    """The pack started like the CLI's analyzer plugin: `python -m pulumi.policy <engine> <pack>`, which
    runpy-runs <pack>/__main__.py; yields a gRPC Analyzer stub on the port it prints."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the pack must not need the repo root
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", program],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read()
        yield analyzer_pb2_grpc.AnalyzerStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("cwd, program", [("policies", "."), (".", "policies")])
def test_pack_main_runs_as_the_cli_runs_it(cwd: str, program: str):
    from google.protobuf import empty_pb2, json_format

    with _pack_process(REPO / cwd, program) as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and [p.name for p in info.policies] == [p.name for p in POLICIES]
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels["reservations-specific-only"] != levels["gke-private-nodes"]
    schema = json_format.MessageToDict(
        next(p for p in info.policies if p.name == "gpu-taints-only-for-gpu-workloads").configSchema)
    assert schema["properties"]["gpuDaemonSetPatterns"]["default"] == ["nvidia", "dcgm", "device-plugin"]


def test_pack_under_the_cli_analyzer_host(dev: Capture):
    """Start the pack the way `pulumi preview --policy-pack policies` does (pulumi.policy's entry point
    runs policies/ with runpy from the pack directory), drive it over gRPC like the engine, and check
    that its verdicts on a broken stack are exactly the offline runner's."""
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime.proto import analyzer_pb2

    broken = _broken(dev)
    expected = run_policies(broken)
    with _pack_process(REPO / "policies", ".") as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
        assert info.name == PACK_NAME and [p.name for p in info.policies] == [p.name for p in POLICIES]
        # The engine reconciles config (schema defaults) from GetAnalyzerInfo and sends it with Configure.
        configs = {}
        for p in info.policies:
            defaults = {k: v["default"] for k, v in json_format.MessageToDict(p.configSchema).get("properties", {}).items()
                        if "default" in v}
            configs[p.name] = analyzer_pb2.PolicyConfig(enforcementLevel=p.enforcementLevel, properties=_struct(defaults))
        stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=configs))
        by_urn = {r.urn: r for r in broken.resources}
        seen = set()
        for r in broken.resources:
            provider = by_urn.get(r.provider.rsplit("::", 1)[0])
            request = analyzer_pb2.AnalyzeRequest(
                type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=_options(r),
                provider=analyzer_pb2.AnalyzerProviderResource(type=provider.type, properties=_struct(provider.inputs),
                                                               urn=provider.urn, name=provider.name) if provider else None)
            for d in stub.Analyze(request).diagnostics:
                # A resource policy's diagnostic carries no URN: the engine files it under the analyzed resource.
                assert d.urn == ""
                seen.add((d.policyName, r.urn, analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel).lower()))
        stack = analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.outputs), urn=r.urn, name=r.name, options=_options(r),
            parent=r.parent, dependencies=r.dependencies) for r in broken.resources])
        for d in stub.AnalyzeStack(stack).diagnostics:
            seen.add((d.policyName, d.urn, analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel).lower()))
            assert d.message.startswith(POLICY[d.policyName].description)
    assert seen == {(v.policy, v.urn, v.enforcement) for v in expected.violations}
    assert len(seen) == 3


@pytest.mark.parametrize("odd", [UNKNOWN_OBJECT, None, {}, [], "x", 0])
def test_policies_survive_odd_shapes(dev: Capture, odd: Any):
    """Whatever shape a property has (unknown during preview, null, wrong type), no policy crashes."""
    for r in dev.resources:
        edit(r, lambda p: p.update({k: copy.deepcopy(odd) for k in p}))
        for key in ("metadata", "spec", "nodeConfig", "autoscaling", "clusterAutoscaling", "values"):
            r.inputs.setdefault(key, copy.deepcopy(odd))
        r.outputs = copy.deepcopy(r.inputs)
    run_policies(dev)  # violations are fine; exceptions are not


def _replace_at_depth(value: Any, depth: int, odd: Any) -> Any:
    if depth == 0:
        return copy.deepcopy(odd)
    if isinstance(value, dict) and SECRET_SIG not in value:  # keep the wire format's secret envelopes intact
        return {k: _replace_at_depth(v, depth - 1, odd) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_at_depth(v, depth - 1, odd) for v in value]
    return value


@pytest.mark.parametrize("depth", [2, 3, 4, 5])
@pytest.mark.parametrize("odd", [UNKNOWN_STRING, None, "x", {}])
def test_policies_survive_odd_nested_shapes(policy_dev: Capture, depth: int, odd: Any):
    capture = copy.deepcopy(policy_dev)
    for r in capture.resources:
        r.inputs = _replace_at_depth(r.inputs, depth, odd)
        r.outputs = copy.deepcopy(r.inputs)
    run_policies(capture)


def test_shipped_open_control_plane_example_is_rejected_by_the_model(capsys):
    """policies/examples/open-control-plane.yaml: the typed model now refuses it (exit 2, path named)
    before any resource exists; the pack is the second line for resources that bypass the model."""
    from components.offline import REPO

    assert cli(["policy", "--config-file", str(REPO / "policies/examples/open-control-plane.yaml")]) == 2
    captured = capsys.readouterr()
    assert "network.authorizedNetworks[2].cidr: 0.0.0.0/0 opens the control plane" in captured.out + captured.err
