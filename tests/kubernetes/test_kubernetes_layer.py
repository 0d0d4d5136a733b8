"""The Kubernetes layer as the engine would receive it: derivation, ordering, validation, tenancy."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from components.kubernetes import render
from components.kubernetes.manifest_validation import ManifestError, is_validated, problems
from components.model import ConfigError, flavors, parse_platform, per_gpu, queue_classes
from components.capture import Capture, run_stack
from conftest import add_fifth_team, config_with, load_dev_platform_raw, run_with
from kube_semantics import static_pool_node
from components.plan import kubernetes_object

KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:"
CHART = "kubernetes:helm.sh/v4:Chart"


@pytest.fixture
def dev(dev_capture) -> Capture:
    return dev_capture


def kueue_objects(capture: Capture, kind: str) -> list:
    return capture.of_type(KUEUE + kind)


def by_name(capture: Capture, kind: str) -> dict:
    return {r.inputs["metadata"]["name"]: r for r in kueue_objects(capture, kind)}


def dev_platform():
    return parse_platform(load_dev_platform_raw())


# ------------------------------------------------------------------ derivation

def test_done_when_counts(dev):
    assert len(kueue_objects(dev, "ResourceFlavor")) == 6
    cqs = by_name(dev, "ClusterQueue")
    # 4 teams x high/low/compact, the shared queue of the two teams that opted in (team-a, team-c), and
    # team-c's serving queue
    assert len([n for n in cqs if n != "dws"]) == 15 and "dws" in cqs
    assert {"team-a-shared", "team-c-shared", "team-c-serving"} <= set(cqs) and "team-b-shared" not in cqs
    assert len(kueue_objects(dev, "LocalQueue")) >= 15
    team_ns = [r for r in dev.of_type("kubernetes:core/v1:Namespace") if render.TEAM_LABEL in r.inputs["metadata"].get("labels", {})]
    assert sorted(r.inputs["metadata"]["name"] for r in team_ns) == ["team-a", "team-b", "team-c", "team-d"]
    charts = {r.inputs["chart"]: r.inputs["version"] for r in dev.of_type(CHART)}
    assert charts == {render.KUEUE_CHART: "0.19.2", render.JOBSET_CHART: "0.12.0", "kube-prometheus-stack": "88.5.3",
                      "prometheus-adapter": "5.3.0",  # team-c's model server autoscales on its metric
                      "argo-workflows": "1.0.18"}  # team-d has pipelines


def _gke_effect(effect: str) -> str:
    return {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}[effect]


def test_resource_flavor_selects_exactly_its_node_pool(dev):
    """Labels of each static pool reach its ResourceFlavor unchanged, plus GKE's own; its taints (the pool's
    and GKE's) become the flavor's tolerations, which Kueue injects into admitted pods (no nodeTaints)."""
    rfs = by_name(dev, "ResourceFlavor")
    pools = [r for r in dev.of_type("gcp:container/nodePool:NodePool") if r.name != "system-pool"]
    assert len(pools) == 5
    for pool in pools:
        node = pool.inputs["nodeConfig"]
        spec = rfs[pool.name.removesuffix("-pool")].inputs["spec"]
        gke = {k: v for k, v in static_pool_node(pool.inputs)["labels"].items() if k != "cloud.google.com/gke-nodepool"}
        assert spec["nodeLabels"] == gke
        assert {**node["labels"], "cloud.google.com/gke-accelerator": node["guestAccelerators"][0]["type"]}.items() <= gke.items()
        pool_taints = [{"key": t["key"], "value": t["value"], "effect": _gke_effect(t["effect"])} for t in node["taints"]]
        assert "nodeTaints" not in spec
        assert all({"operator": "Equal", **t} in spec["tolerations"] for t in pool_taints)
        # GKE taints GPU nodes nvidia.com/gpu=present (the reference wrote "true", which no node carries).
        assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in spec["tolerations"]


def test_nap_flavor_matches_what_nap_can_build(dev):
    spec = by_name(dev, "ResourceFlavor")["a100-compact-spot"].inputs["spec"]
    assert spec["nodeLabels"]["cloud.google.com/gke-accelerator"] == "nvidia-tesla-a100"
    assert spec["nodeLabels"]["cloud.google.com/gke-spot"] == "true"
    # Admitted pods select the driver version, which tells NAP to install it on the pools it creates.
    assert spec["nodeLabels"]["cloud.google.com/gke-gpu-driver-version"] == "default"
    limits = dev.named("cluster-gke").inputs["clusterAutoscaling"]["resourceLimits"]
    assert any(l["resourceType"] == "nvidia-tesla-a100" and l["maximum"] >= 16 for l in limits)


def test_team_queues_carry_model_quota_in_order(dev):
    platform = dev_platform()
    cqs = by_name(dev, "ClusterQueue")
    high = cqs["team-a-high"].inputs["spec"]
    assert high["cohortName"] == "team-a-b"
    assert high["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}}
    group = high["resourceGroups"][0]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    assert [f["name"] for f in group["flavors"]] == ["l4-reserved", "l4-ondemand"]
    assert [f["name"] for f in cqs["team-a-low"].inputs["spec"]["resourceGroups"][0]["flavors"]] == ["l4-reserved", "l4-spot"]
    reserved = {r["name"]: r for r in group["flavors"][0]["resources"]}
    quota = platform.teams[0].queues.high[0]
    assert reserved["nvidia.com/gpu"] == {"name": "nvidia.com/gpu", "nominalQuota": str(quota.gpus), "borrowingLimit": str(quota.borrowing_limit)}
    # cpu and memory follow each GPU's share of the node's allocatable (tests/model/test_allocatable.py).
    share = per_gpu(flavors(platform)["l4-reserved"].machine, 2)
    assert reserved["cpu"]["nominalQuota"] == f"{share.cpu_millis * quota.gpus}m"
    assert reserved["memory"]["nominalQuota"] == f"{share.memory_mib * quota.gpus}Mi"


def test_preemption_design(dev):
    cqs = by_name(dev, "ClusterQueue")
    for team in "abcd":
        high = cqs[f"team-{team}-high"].inputs["spec"]
        low = cqs[f"team-{team}-low"].inputs["spec"]
        compact = cqs[f"team-{team}-compact"].inputs["spec"]
        assert high["preemption"]["reclaimWithinCohort"] == "LowerPriority"
        assert compact["preemption"]["reclaimWithinCohort"] == "LowerPriority"
        assert low["preemption"]["reclaimWithinCohort"] == "Never"
        assert high["flavorFungibility"]["whenCanBorrow"] == "TryNextFlavor"


def test_reserved_quota_never_exceeds_reserved_gpus(dev):
    """The reference promised 16 reserved GPUs on 8; ours sums to what the reservation holds."""
    total = 0
    for cq in kueue_objects(dev, "ClusterQueue"):
        for flavor in cq.inputs["spec"]["resourceGroups"][0]["flavors"]:
            if flavor["name"] == "l4-reserved":
                total += int(next(r["nominalQuota"] for r in flavor["resources"] if r["name"] == "nvidia.com/gpu"))
    reservation = dev.of_type("gcp:compute/reservation:Reservation")[0].inputs["specificReservation"]
    assert total == reservation["count"] * reservation["instanceProperties"]["guestAccelerators"][0]["acceleratorCount"] == 8


def test_dws_path_only_for_granted_teams(dev):
    cq = by_name(dev, "ClusterQueue")["dws"].inputs["spec"]
    assert cq["namespaceSelector"]["matchExpressions"][0]["values"] == ["team-a", "team-b"]
    assert cq["admissionChecksStrategy"]["admissionChecks"] == [{"name": "dws", "onFlavors": ["l4-dws"]}]
    check = kueue_objects(dev, "AdmissionCheck")[0].inputs["spec"]
    prc = kueue_objects(dev, "ProvisioningRequestConfig")[0].inputs
    assert check["parameters"]["name"] == prc["metadata"]["name"]
    assert prc["spec"]["provisioningClassName"] == "queued-provisioning.gke.io"
    dws_lqs = [r.inputs["metadata"]["namespace"] for r in kueue_objects(dev, "LocalQueue") if r.inputs["spec"]["clusterQueue"] == "dws"]
    assert sorted(dws_lqs) == ["team-a", "team-b"]


# ------------------------------------------------------------------ tenancy

def test_ksa_annotation_is_the_real_gsa_and_matches_the_wi_binding(dev):
    emails = dev.stack_outputs["teamServiceAccounts"]
    for sa in dev.of_type("kubernetes:core/v1:ServiceAccount"):
        md = sa.inputs["metadata"]
        team = md["namespace"]
        assert md["annotations"]["iam.gke.io/gcp-service-account"] == emails[team]
        assert "@." not in emails[team]  # the reference's annotation lost the project id
        binding = dev.named(f"team-{team}-workload-identity")
        assert binding.inputs["member"].endswith(f".svc.id.goog[{team}/{md['name']}]")


def test_team_rbac_is_namespaced_and_secret_free(dev):
    for role in dev.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role"):
        # team Roles, and the Argo Server's ConfigMap read in its own namespace (test_argo_install.py)
        assert role.inputs["metadata"]["namespace"].startswith("team-") or role.inputs["metadata"] == {
            "name": "argo-workflows-server-caches", "namespace": "argo"}
        resources = {res for rule in role.inputs["rules"] for res in rule["resources"]}
        assert "secrets" not in resources
        if role.inputs["metadata"]["name"] == "batch-user":
            assert "workloads" in resources and "jobsets" in resources
    # dev lists no members; the only bindings are team-d's pipeline executor's and the Argo Server's
    # (test_argo_install.py)
    bindings = dev.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert sorted((b.inputs["metadata"]["namespace"], b.inputs["metadata"]["name"]) for b in bindings) == [
        ("argo", "argo-workflows-server-caches"), ("team-d", "argo-executor")]


def test_members_get_a_rolebinding():
    def add_members(p):
        p["teams"][0]["members"] = ["user:alice@example.com", "group:ml@example.com"]
        p["cluster"]["securityGroup"] = "gke-security-groups@example.com"  # Group subjects need it (Google Groups for RBAC)

    capture = run_with(add_members)
    (binding,) = [b for b in capture.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
                  if b.inputs["metadata"]["name"] == "batch-user"]
    assert binding.inputs["metadata"]["namespace"] == "team-a"
    assert {(s["kind"], s["name"]) for s in binding.inputs["subjects"]} == {("User", "alice@example.com"), ("Group", "ml@example.com")}


def test_gpu_ceiling_caps_pods_that_bypass_kueue(dev):
    """The ResourceQuota is the most Kueue can ever admit for the team (components/model/ledger.py):
    kueue v0.19.2 resource_node.go `potentialAvailable`, per queue nominal + min(borrowingLimit, what the
    cohort's other queues lend), and all the team's queues together no more than the cohort holds."""
    quotas = {r.inputs["metadata"]["namespace"]: r.inputs["spec"]["hard"]["requests.nvidia.com/gpu"]
              for r in dev.of_type("kubernetes:core/v1:ResourceQuota")}
    # team-a in cohort team-a-b. l4-reserved: high 2+min(2, 2) and low 0+min(2, 4), but the cohort holds
    # only 4 reserved GPUs; l4-ondemand: high 4+min(4, 4); l4-spot: low 12+min(4, 12); compact 2+0;
    # shared 4+0 (units; team-b lends none); the shared DWS queue 16. team-c's serving queue: 4+0 on l4-ondemand.
    assert quotas["team-a"] == str(4 + 8 + 16 + 2 + 4 + 16)
    assert quotas["team-c"] == str(4 + 8 + 16 + 2 + 4 + 4)


def test_priority_classes(dev):
    pcs = {r.inputs["metadata"]["name"]: r.inputs for r in dev.of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")}
    assert [n for n, pc in pcs.items() if pc.get("globalDefault")] == ["low"]
    assert pcs["low"]["preemptionPolicy"] == "Never"
    assert pcs["high"]["value"] > pcs["compact"]["value"] > pcs["low"]["value"]
    assert pcs["high"]["preemptionPolicy"] == pcs["compact"]["preemptionPolicy"] == "PreemptLowerPriority"
    # Platform controllers sit above every batch tier, so the global default never demotes them.
    kueue = next(r for r in dev.of_type(CHART) if r.inputs["chart"] == render.KUEUE_CHART)
    assert kueue.inputs["values"]["controllerManager"]["manager"]["priorityClassName"] == "platform-services"
    assert pcs["platform-services"]["value"] > pcs["high"]["value"]


def test_kueue_configuration(dev):
    kueue = next(r for r in dev.of_type(CHART) if r.inputs["chart"] == render.KUEUE_CHART)
    config = yaml.safe_load(kueue.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"])
    assert config["integrations"]["frameworks"] == ["batch/job", "jobset.x-k8s.io/jobset", "pod", "deployment"]
    assert config["metrics"]["enableClusterQueueResources"] is True
    assert config["waitForPodsReady"]["timeout"] == "20m"
    assert config["waitForPodsReady"]["requeuingStrategy"]["timestamp"] == "Eviction"
    selector = config["managedJobsNamespaceSelector"]["matchLabels"]
    for ns in dev.of_type("kubernetes:core/v1:Namespace"):
        labels = ns.inputs["metadata"].get("labels", {})
        managed = all(labels.get(k) == v for k, v in selector.items())
        assert managed == ns.inputs["metadata"]["name"].startswith("team-"), ns.inputs["metadata"]["name"]
    assert "featureGates" not in config  # removed gates such as ProvisioningACC crash-loop the controller


def test_pods_ready_timeout_comes_from_the_model():
    capture = run_with(lambda p: p.setdefault("kueue", {}).update(podsReadyTimeoutMinutes=45))
    kueue = next(r for r in capture.of_type(CHART) if r.inputs["chart"] == render.KUEUE_CHART)
    assert "timeout: 45m" in kueue.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"]


# ------------------------------------------------------------------ ordering

def test_every_kueue_object_waits_for_the_kueue_release(dev):
    kueue_chart = next(r.urn for r in dev.of_type(CHART) if r.inputs["chart"] == render.KUEUE_CHART)
    kueue_objs = [r for r in dev.resources if r.type.startswith(KUEUE)]
    assert kueue_objs
    for r in kueue_objs:
        assert kueue_chart in r.dependencies, r.name


def test_destroy_order_edges(dev):
    """Pulumi deletes dependents first: local queue, then cluster queue, then flavors and checks."""
    urns = {r.inputs["metadata"]["name"]: r.urn for r in kueue_objects(dev, "ResourceFlavor")}
    cqs = by_name(dev, "ClusterQueue")
    cohorts = {r.inputs["metadata"]["name"]: r.urn for r in kueue_objects(dev, "Cohort")}
    for name, cq in cqs.items():
        for flavor in cq.inputs["spec"]["resourceGroups"][0]["flavors"]:
            assert urns[flavor["name"]] in cq.dependencies, (name, flavor["name"])
        own = cq.inputs["spec"].get("cohortName")
        assert {c for c, u in cohorts.items() if u in cq.dependencies} == ({own} if own else set())
    for lq in kueue_objects(dev, "LocalQueue"):
        assert cqs[lq.inputs["spec"]["clusterQueue"]].urn in lq.dependencies
        assert lq.options["replaceOnChanges"] == ["spec.clusterQueue"]
    check = kueue_objects(dev, "AdmissionCheck")[0]
    assert check.urn in cqs["dws"].dependencies
    assert kueue_objects(dev, "ProvisioningRequestConfig")[0].urn in check.dependencies
    jobset = next(r.urn for r in dev.of_type(CHART) if r.inputs["chart"] == render.JOBSET_CHART)
    kueue = next(r for r in dev.of_type(CHART) if r.inputs["chart"] == render.KUEUE_CHART)
    assert jobset in kueue.dependencies
    # The controller's pods use the platform-services PriorityClass; it must exist before them.
    assert dev.named("priorities-platform-services").urn in kueue.dependencies


def test_kubernetes_provider_waits_for_cluster_system_pool_and_webhook_firewall_only(dev):
    """GKE private clusters: the control plane reaches nodes only on 443/10250 unless a firewall rule
    opens the webhook ports (https://cloud.google.com/kubernetes-engine/docs/how-to/private-clusters#add_firewall_rules),
    so no Kueue/JobSet object may be applied before that rule exists."""
    provider = dev.of_type("pulumi:providers:kubernetes")[0]
    deps = {dev.by_urn()[u].name for u in provider.dependencies}
    assert deps == {"cluster-gke", "system-pool", "control-plane-webhooks"}
    gpu_pools = {r.urn for r in dev.of_type("gcp:container/nodePool:NodePool") if r.name != "system-pool"}
    assert not any(gpu_pools & set(r.dependencies) for r in dev.resources)
    for r in dev.resources:
        if r.type.startswith("kubernetes:") and r.custom:
            assert "pulumi:providers:kubernetes::kubernetes::" in r.provider, r.name  # never the ambient kubeconfig


# ------------------------------------------------------------------ validation

def test_every_applied_object_is_schema_valid(dev):
    applied = [kubernetes_object(r) for r in dev.resources if r.type.startswith("kubernetes:") and r.type != CHART]
    applied = [o for o in applied if o]
    assert len(applied) > 50
    for obj in applied:
        assert is_validated(obj), obj["kind"]
        assert problems(obj) == [], obj


def test_wrong_cluster_queue_fails_the_program_with_the_upstream_message(monkeypatch):
    low = queue_classes.BY_NAME["low"]
    bad = dataclasses.replace(low, kueue_policy={**low.kueue_policy, "flavorFungibility": {"preference": "PreemptionOverBorrowing"}})
    monkeypatch.setitem(queue_classes.BY_NAME, "low", bad)  # needs both TryNextFlavor
    capture = Capture(stack="dev")
    with pytest.raises(ManifestError) as err:
        run_stack("dev", capture=capture)
    assert "ClusterQueue/team-a-low: spec.flavorFungibility: preference can only be set when both whenCanBorrow and whenCanPreempt are TryNextFlavor" in str(err.value)
    assert len([p for p in err.value.problems if "preference" in p]) == 4  # every team's low queue
    assert capture.resources == []  # nothing half-created


def test_bad_config_creates_nothing():
    capture = Capture(stack="dev")
    with pytest.raises(ConfigError):
        run_stack("dev", config=config_with(lambda p: p["teams"][0]["queues"]["high"][0].update(gpus=6)), capture=capture)
    assert capture.resources == []


# ------------------------------------------------------------------ adding a team

def test_fifth_team_adds_exactly_its_kubernetes_objects(dev):
    grown = run_with(add_fifth_team)  # joins cohort team-c-d, so no new Cohort
    before = {r.urn: r for r in dev.resources}
    added = [r for r in grown.resources if r.urn not in before]
    assert all("team-e" in r.urn for r in added)
    kinds = sorted(r.type.split(":")[-1] for r in added if r.type.startswith("kubernetes:"))
    policies = [r for r in dev.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if r.inputs["metadata"].get("namespace") == "team-a"]
    assert kinds == sorted(["Namespace", "ServiceAccount", "Role", "RoleBinding", "ResourceQuota", "LimitRange",
                            *["NetworkPolicy"] * len(policies), "ClusterQueue", "ClusterQueue", "ClusterQueue",
                            "LocalQueue", "LocalQueue", "LocalQueue"])
    assert grown.named("team-team-e-workload-identity").inputs["member"].endswith("[team-e/team-e-ksa]")
    changed = [u for u, r in before.items() if grown.by_urn()[u].inputs != r.inputs]
    assert changed == []
    rewired = [u for u, r in before.items() if grown.by_urn()[u].dependencies != r.dependencies]
    assert rewired == []  # no existing queue starts depending on the new team's cohort


def test_render_is_pure_and_deterministic():
    platform = dev_platform()
    first = [render.resource_flavor(f) for f in flavors(platform).values()]
    second = [render.resource_flavor(f) for f in flavors(platform).values()]
    assert first == second and first[0] is not second[0]
