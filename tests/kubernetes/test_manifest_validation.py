"""Tests for components.kubernetes.manifest_validation: each failure case names the upstream rule it trips."""

from __future__ import annotations

import copy

import pytest

from components.kubernetes.manifest_schema import CEL_NOT_CHECKED
from components.kubernetes.manifest_validation import (
    ManifestError,
    is_validated,
    problems,
    validate_all,
)

KUEUE = "kueue.x-k8s.io/v1beta2"


def cluster_queue(**spec_overrides: object) -> dict:
    spec = {
        "cohortName": "gpu-pool",
        "namespaceSelector": {"matchLabels": {"kueue.x-k8s.io/team": "ml"}},
        "resourceGroups": [{
            "coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
            "flavors": [
                {"name": "h100-reserved", "resources": [
                    {"name": "cpu", "nominalQuota": "96"},
                    {"name": "memory", "nominalQuota": "1Ti"},
                    {"name": "nvidia.com/gpu", "nominalQuota": 8, "borrowingLimit": 8, "lendingLimit": 4},
                ]},
                {"name": "h100-spot", "resources": [
                    {"name": "cpu", "nominalQuota": "500m"},
                    {"name": "memory", "nominalQuota": "20Gi"},
                    {"name": "nvidia.com/gpu", "nominalQuota": 0},
                ]},
            ],
        }],
        "preemption": {
            "withinClusterQueue": "LowerPriority",
            "reclaimWithinCohort": "Any",
            "borrowWithinCohort": {"policy": "LowerPriority", "maxPriorityThreshold": 100},
        },
    }
    spec.update(spec_overrides)
    return {"apiVersion": KUEUE, "kind": "ClusterQueue", "metadata": {"name": "team-ml"}, "spec": spec}


def resource_flavor(**spec_overrides: object) -> dict:
    spec = {
        "nodeLabels": {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"},
        "nodeTaints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    spec.update(spec_overrides)
    return {"apiVersion": KUEUE, "kind": "ResourceFlavor", "metadata": {"name": "h100-reserved"}, "spec": spec}


def job_set() -> dict:
    pod_spec = {
        "restartPolicy": "Never",
        "containers": [{
            "name": "trainer",
            "image": "us-docker.pkg.dev/proj/repo/trainer:1.0",
            "ports": [{"containerPort": 8080}],
            "resources": {"limits": {"nvidia.com/gpu": 8, "memory": "200Gi"}, "requests": {"cpu": "500m"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        }],
    }
    return {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": {"name": "smoke-test", "namespace": "team-ml",
                     "labels": {"kueue.x-k8s.io/queue-name": "team-ml"}},
        "spec": {"replicatedJobs": [{
            "name": "workers",
            "template": {"spec": {"parallelism": 2, "completions": 2, "template": {"spec": pod_spec}}},
        }]},
    }


LOCAL_QUEUE = {"apiVersion": KUEUE, "kind": "LocalQueue", "metadata": {"name": "team-ml", "namespace": "team-ml"},
               "spec": {"clusterQueue": "team-ml"}}
COHORT = {"apiVersion": KUEUE, "kind": "Cohort", "metadata": {"name": "gpu-pool"},
          "spec": {"resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [
              {"name": "h100-reserved", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 16}]}]}]}}
ADMISSION_CHECK = {"apiVersion": KUEUE, "kind": "AdmissionCheck", "metadata": {"name": "dws"},
                   "spec": {"controllerName": "kueue.x-k8s.io/provisioning-request",
                            "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "ProvisioningRequestConfig",
                                           "name": "dws-config"}}}
PROVISIONING_REQUEST_CONFIG = {
    "apiVersion": KUEUE, "kind": "ProvisioningRequestConfig", "metadata": {"name": "dws-config"},
    "spec": {"provisioningClassName": "queued-provisioning.gke.io", "managedResources": ["nvidia.com/gpu"]}}
WORKLOAD_PRIORITY_CLASS = {"apiVersion": KUEUE, "kind": "WorkloadPriorityClass", "metadata": {"name": "high"},
                           "value": 1000, "description": "interactive jobs"}

VALID_KUEUE_AND_JOBSET = [cluster_queue(), resource_flavor(), LOCAL_QUEUE, COHORT, ADMISSION_CHECK,
                          PROVISIONING_REQUEST_CONFIG, WORKLOAD_PRIORITY_CLASS, job_set()]

VALID_BUILTINS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-ml", "labels": {"team": "ml"}}},
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "trainer", "namespace": "team-ml"}},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
     "value": 1000, "preemptionPolicy": "Never", "description": "high"},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
     "metadata": {"name": "trainer-edit", "namespace": "team-ml"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
     "subjects": [{"kind": "ServiceAccount", "name": "trainer", "namespace": "team-ml"}]},
]


def only_problem(obj: dict) -> str:
    found = problems(obj)
    assert len(found) == 1, found
    return found[0]


# --- valid objects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", VALID_KUEUE_AND_JOBSET + VALID_BUILTINS, ids=lambda o: o["kind"])
def test_valid_objects_pass_and_are_validated(obj: dict) -> None:
    assert problems(obj) == []
    assert is_validated(obj)


# --- CEL rules --------------------------------------------------------------------------------------


def test_borrowing_limit_without_cohort_fails_cel() -> None:
    cq = cluster_queue()
    del cq["spec"]["cohortName"]
    del cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]["lendingLimit"]
    assert only_problem(cq) == "ClusterQueue/team-ml: spec: borrowingLimit must be nil when cohort is empty"


def test_flavor_with_fewer_resources_than_covered_fails_cel() -> None:
    cq = cluster_queue()
    cq["spec"]["resourceGroups"][0]["flavors"][1]["resources"].pop()
    assert only_problem(cq) == ("ClusterQueue/team-ml: spec.resourceGroups[0]: "
                                "flavors must have the same number of resources as the coveredResources")


def test_fungibility_preference_alone_fails_because_defaults_apply_before_cel() -> None:
    cq = cluster_queue(flavorFungibility={"preference": "PreemptionOverBorrowing"})
    assert only_problem(cq) == ("ClusterQueue/team-ml: spec.flavorFungibility: preference can only be set "
                                "when both whenCanBorrow and whenCanPreempt are TryNextFlavor")
    both = cluster_queue(flavorFungibility={"preference": "PreemptionOverBorrowing",
                                            "whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "TryNextFlavor"})
    assert problems(both) == []


def test_taint_effect_outside_the_enum_fails_cel() -> None:
    rf = resource_flavor(nodeTaints=[{"key": "nvidia.com/gpu", "effect": "NoScheduleX"}])
    assert only_problem(rf) == ("ResourceFlavor/h100-reserved: spec.nodeTaints: "
                                "supported taint effect values: 'NoSchedule', 'PreferNoSchedule', 'NoExecute'")


def test_toleration_with_exists_and_value_fails_cel() -> None:
    rf = resource_flavor(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "value": "present"}])
    assert only_problem(rf) == ("ResourceFlavor/h100-reserved: spec.tolerations: "
                                "a value must be empty when 'operator' is 'Exists'")


def test_rule_that_cannot_evaluate_reports_its_message() -> None:
    rf = resource_flavor(topologyName="gke-default")
    del rf["spec"]["nodeLabels"]
    assert "at least one nodeLabel is required when topology is set" in only_problem(rf)


# --- schema: unknown fields, patterns, versions ------------------------------------------------------


def test_v1beta1_cohort_field_on_v1beta2_is_rejected_not_pruned() -> None:
    cq = cluster_queue()
    cq["spec"]["cohort"] = cq["spec"].pop("cohortName")
    del cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]["borrowingLimit"]
    del cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]["lendingLimit"]
    assert only_problem(cq).startswith("ClusterQueue/team-ml: spec.cohort: unknown field")


def test_kueue_v1beta1_is_rejected() -> None:
    cq = cluster_queue()
    cq["apiVersion"] = "kueue.x-k8s.io/v1beta1"
    assert "use kueue.x-k8s.io/v1beta2" in only_problem(cq)
    assert not is_validated(cq)


def test_go_case_insensitive_pattern_is_applied() -> None:
    check = copy.deepcopy(ADMISSION_CHECK)
    check["spec"]["parameters"]["kind"] = "Provisioning_Request_Config"
    assert only_problem(check).startswith("AdmissionCheck/dws: spec.parameters.kind: 'Provisioning_Request_Config' "
                                          "does not match")


def test_enum_and_required_fields_are_checked() -> None:
    cq = cluster_queue(queueingStrategy="Fifo")
    found = problems(cq)
    assert "spec.queueingStrategy: 'Fifo' is not one of" in found[0] and found[1:] == [
        f"ClusterQueue/team-ml: (root): {CEL_NOT_CHECKED}"]
    pr_config = copy.deepcopy(PROVISIONING_REQUEST_CONFIG)
    del pr_config["spec"]["provisioningClassName"]
    assert "'provisioningClassName' is a required property" in problems(pr_config)[0]


def test_a_blocking_schema_failure_stops_the_cel_rules() -> None:
    """kubernetes apiextensions-apiserver pkg/registry/customresource/strategy.go `hasBlockingErr`: after a type,
    required, enum, maxLength, maxItems or maxProperties failure the API server evaluates none of the object's
    rules and says so; an unknown field or a pattern does not block."""
    cq = cluster_queue(queueingStrategy="Fifo")
    cq["spec"].pop("cohortName")  # borrowingLimit without a cohort: a CEL failure, not reported
    assert [p.split(": ", 2)[1:] for p in problems(cq)][1:] == [["(root)", CEL_NOT_CHECKED]]
    assert not any("borrowingLimit" in p for p in problems(cq))
    cq = cluster_queue()
    cq["spec"].pop("cohortName")
    cq["spec"]["unknownField"] = 1
    assert CEL_NOT_CHECKED not in "".join(problems(cq)) and any("borrowingLimit" in p for p in problems(cq))


def test_rules_never_run_on_the_wrong_shape() -> None:
    """cel-python's all() over a string walks its characters and builds an error text that doubles per step
    (a 300-character string: gigabytes); a type failure stops the rules first, so the answer is immediate."""
    cq = cluster_queue()
    cq["spec"]["resourceGroups"][0]["flavors"] = "é" * 300
    found = problems(cq)
    assert "is not of type 'array'" in found[0] and found[-1].endswith(CEL_NOT_CHECKED)


def test_duplicate_keys_in_a_map_list_are_rejected() -> None:
    cq = cluster_queue()
    flavors = cq["spec"]["resourceGroups"][0]["flavors"]
    flavors[1]["name"] = flavors[0]["name"]
    assert any("spec.resourceGroups[0].flavors[1]: Duplicate value" in p for p in problems(cq))


def test_unknown_kueue_kind_or_version_is_a_problem() -> None:
    workload = {"apiVersion": KUEUE, "kind": "Workload", "metadata": {"name": "w"}}
    assert "no vendored schema for Workload in kueue.x-k8s.io/v1beta2" in only_problem(workload)
    assert not is_validated(workload)
    old_job_set = {**job_set(), "apiVersion": "jobset.x-k8s.io/v1alpha1"}
    assert "known apiVersions for this kind: ['jobset.x-k8s.io/v1alpha2']" in only_problem(old_job_set)


def test_job_set_pod_template_is_closed_and_int_or_string_is_typed() -> None:
    js = job_set()
    container = js["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["resource"] = container.pop("resources")
    assert only_problem(js).startswith(
        "JobSet/smoke-test: spec.replicatedJobs[0].template.spec.template.spec.containers[0].resource: unknown field")
    js = job_set()
    container = js["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"] = {"tcpSocket": {"port": 80.5}}
    assert problems(js)[0].endswith(
        "readinessProbe.tcpSocket.port: Invalid value 80.5: must be an integer or a string")


def test_job_set_cel_rule() -> None:
    js = job_set()
    js["spec"]["startupPolicy"] = {"startupPolicyOrder": "InOrder"}
    js["spec"]["replicatedJobs"][0]["dependsOn"] = [{"name": "driver", "status": "Ready"}]
    assert only_problem(js) == "JobSet/smoke-test: spec: StartupPolicy and DependsOn APIs are mutually exclusive"


# --- metadata ---------------------------------------------------------------------------------------


def test_names_and_scope_are_checked() -> None:
    local_queue = copy.deepcopy(LOCAL_QUEUE)
    del local_queue["metadata"]["namespace"]
    assert only_problem(local_queue) == ("LocalQueue/team-ml: metadata.namespace: "
                                         "Required value: LocalQueue is namespaced")
    cq = cluster_queue()
    cq["metadata"]["namespace"] = "team-ml"
    assert only_problem(cq) == "ClusterQueue/team-ml: metadata.namespace: Forbidden: ClusterQueue is cluster-scoped"
    cq = cluster_queue()
    cq["metadata"]["name"] = "Team_ML"
    assert only_problem(cq).startswith("ClusterQueue/Team_ML: metadata.name: Invalid value 'Team_ML'")


# --- Kueue webhook-only checks ----------------------------------------------------------------------


def test_resource_names_must_follow_covered_resources_order() -> None:
    cq = cluster_queue()
    resources = cq["spec"]["resourceGroups"][0]["flavors"][1]["resources"]
    resources[0], resources[1] = resources[1], resources[0]
    found = problems(cq)
    assert len(found) == 2
    assert found[0] == ("ClusterQueue/team-ml: spec.resourceGroups[0].flavors[1].resources[0].name: "
                        "Invalid value 'memory': must match the name in coveredResources ('cpu')")


def test_negative_quota_is_rejected() -> None:
    cq = cluster_queue()
    cq["spec"]["resourceGroups"][0]["flavors"][1]["resources"][1]["nominalQuota"] = "-20Gi"
    assert only_problem(cq) == ("ClusterQueue/team-ml: spec.resourceGroups[0].flavors[1].resources[1].nominalQuota: "
                                "Invalid value '-20Gi': must be greater than or equal to 0")


def test_lending_limit_above_nominal_quota_is_rejected() -> None:
    cq = cluster_queue()
    cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][1]["lendingLimit"] = "1025Gi"  # nominal 1Ti
    assert only_problem(cq) == ("ClusterQueue/team-ml: spec.resourceGroups[0].flavors[0].resources[1].lendingLimit: "
                                "Invalid value '1025Gi': must be less than or equal to the nominalQuota ('1Ti')")
    cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][1]["lendingLimit"] = "1024Gi"
    assert problems(cq) == []


def test_lending_limit_without_cohort_is_rejected() -> None:
    cq = cluster_queue()
    del cq["spec"]["cohortName"]
    del cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]["borrowingLimit"]
    assert only_problem(cq) == ("ClusterQueue/team-ml: spec.resourceGroups[0].flavors[0].resources[2].lendingLimit: "
                                "Invalid value 4: must be nil when cohort is empty")


def test_resource_and_flavor_may_not_appear_in_two_groups() -> None:
    cq = cluster_queue()
    cq["spec"]["resourceGroups"].append({"coveredResources": ["cpu"], "flavors": [
        {"name": "h100-spot", "resources": [{"name": "cpu", "nominalQuota": 1}]}]})
    found = problems(cq)
    assert any("spec.resourceGroups[1].coveredResources[0]: Duplicate value: 'cpu'" in p for p in found)
    assert any("spec.resourceGroups[1].flavors[0].name: Duplicate value: 'h100-spot'" in p for p in found)


def test_admission_check_on_flavors_must_name_flavors_of_the_queue() -> None:
    cq = cluster_queue(admissionChecksStrategy={"admissionChecks": [{"name": "dws", "onFlavors": ["a100-spot"]}]})
    assert "admissionChecks[0].onFlavors[0]: Unsupported value 'a100-spot'" in only_problem(cq)


def test_cohort_limits_need_a_parent() -> None:
    cohort = copy.deepcopy(COHORT)
    cohort["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["borrowingLimit"] = 4
    assert only_problem(cohort).endswith("borrowingLimit: Invalid value 4: must be nil when parent is empty")
    cohort["spec"]["parentName"] = "org"
    assert problems(cohort) == []


# --- built-in kinds ---------------------------------------------------------------------------------


def test_priority_class_with_string_value_fails() -> None:
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": "high"}
    assert only_problem(pc).startswith("PriorityClass/high: value: 'high' is not of type 'integer'")


def test_service_account_with_unknown_field_fails() -> None:
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "trainer", "namespace": "team-ml"},
          "automountToken": False}
    assert only_problem(sa).startswith("ServiceAccount/trainer: automountToken: unknown field")


def test_every_builtin_error_is_reported_not_only_the_first() -> None:
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
          "value": "high", "preemption": "Never"}
    assert len(problems(pc)) == 2


def test_unknown_kind_is_skipped_and_reported_as_not_validated() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "dcgm", "namespace": "monitoring"}, "spec": {"anything": True}}
    assert problems(widget) == []
    assert not is_validated(widget)


# --- aggregation and purity -------------------------------------------------------------------------


def test_validate_all_collects_every_problem_of_every_object() -> None:
    bad_cq = cluster_queue(queueingStrategy="Fifo")
    bad_pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "x"}, "value": "x"}
    with pytest.raises(ManifestError) as caught:
        validate_all([*VALID_BUILTINS, bad_cq, resource_flavor(nodeTaints=[{"key": "k", "effect": "Nope"}]), bad_pc])
    assert len(caught.value.problems) == 4  # the ClusterQueue's enum failure, and its rules not checked
    message = str(caught.value)
    for kind_and_name in ("ClusterQueue/team-ml", "ResourceFlavor/h100-reserved", "PriorityClass/x"):
        assert kind_and_name in message
    assert all(problem in message.splitlines() for problem in caught.value.problems)


def test_validate_all_returns_none_when_everything_is_valid() -> None:
    assert validate_all(VALID_KUEUE_AND_JOBSET + VALID_BUILTINS) is None


def test_the_callers_dict_is_not_mutated() -> None:
    cq = cluster_queue()
    before = copy.deepcopy(cq)
    problems(cq)
    assert cq == before
    assert "flavorFungibility" not in cq["spec"]  # a default the validator applied to its own copy only
