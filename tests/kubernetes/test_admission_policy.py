"""Design decision D3 (docs/design.md): a job's pod priority must match its queue class, enforced at submission.

The ValidatingAdmissionPolicies are evaluated here the way the API server does (Kubernetes "Validating
Admission Policy", https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/):
matchConstraints and the binding's namespaceSelector pick the request, every matchCondition must be true,
`variables` are composed in order, and a validation whose expression is false denies the request with its
messageExpression. The CEL runs in cel-python. Kueue takes a job's priority from its pods' PriorityClass
when no WorkloadPriorityClass is set (Kueue `site/content/en/docs/concepts/workload_priority_class.md`).
"""

from __future__ import annotations

from typing import Optional

import pytest

from components.kubernetes.manifest_validation import is_validated, problems
from admission_support import BINDING, TEAM_NS, VAP, admission_review
from components.plan import kubernetes_object

@pytest.fixture(scope="module")
def objs(dev_capture) -> tuple[list[dict], list[dict]]:
    return ([kubernetes_object(r) for r in dev_capture.of_type(VAP)],
            [kubernetes_object(r) for r in dev_capture.of_type(BINDING)])


def job(queue: Optional[str], priority: Optional[str], selector: Optional[dict] = None) -> dict:
    pod = {"containers": [{"name": "main", "image": "trainer", "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
           "restartPolicy": "Never"}
    if priority:
        pod["priorityClassName"] = priority
    if selector:
        pod["nodeSelector"] = selector
    labels = {"kueue.x-k8s.io/queue-name": queue} if queue else {}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "namespace": "team-a", "labels": labels},
            "spec": {"suspend": True, "template": {"spec": pod}}}


def jobset(queue: str, priorities: list[Optional[str]]) -> dict:
    replicated = []
    for i, priority in enumerate(priorities):
        replicated.append({"name": f"r{i}", "replicas": 1,
                           "template": {"spec": {"template": job(None, priority)["spec"]["template"]}}})
    return {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
            "metadata": {"name": "train", "namespace": "team-a", "labels": {"kueue.x-k8s.io/queue-name": queue}},
            "spec": {"replicatedJobs": replicated}}


PLACEMENT = {"cloud.google.com/gke-placement-group": "team-a-train"}


def test_policies_are_valid_objects_scoped_to_team_namespaces(objs):
    policies, bindings = objs
    assert len(policies) == 7 and len(bindings) == 7
    for obj in policies + bindings:
        assert is_validated(obj) and problems(obj) == []  # kubernetes-validate, strict, Kubernetes 1.35
    for binding in bindings:
        assert binding["spec"]["matchResources"] == {"namespaceSelector": {"matchLabels": {"batch-platform/kueue-managed": "true"}}}


@pytest.mark.parametrize("obj", [
    job("high", "high"), job("low", "low"), job("low", None), job("dws", None), job("dws", "low"),
    job("compact", "compact", PLACEMENT), job(None, None), job("someone-elses-queue", None),
    jobset("high", ["high", "high"]), jobset("low", [None, "low"]),
])
def test_matching_jobs_are_admitted(objs, obj):
    assert admission_review(*objs, obj, TEAM_NS) is None


@pytest.mark.parametrize("obj, says", [
    (job("high", None), "set priorityClassName: high in spec.template.spec"),
    (job("high", "low"), "its pods run at low: set priorityClassName: high"),
    (job("low", "high"), "set priorityClassName: low"),
    (job("compact", "low", PLACEMENT), "set priorityClassName: compact"),
    (job("compact", "compact"), "add nodeSelector cloud.google.com/gke-placement-group"),
    (jobset("high", ["high", None]), "set priorityClassName: high in every spec.replicatedJobs[*]"),
])
def test_mismatched_jobs_are_denied_saying_what_to_add(objs, obj, says):
    message = admission_review(*objs, obj, TEAM_NS)
    assert message is not None and says in message, message


def test_other_namespaces_are_not_checked(objs):
    assert admission_review(*objs, job("high", None), {"kubernetes.io/metadata.name": "monitoring"}) is None


def test_updates_are_checked_only_when_they_rename_the_queue(objs):
    """A Job's and a JobSet's pod templates (and so their priority) are immutable; an update that leaves the
    queue label alone is admitted even if the object predates the policy (its controller must still be able
    to update and finalize it); moving a job to another queue is checked like a create."""
    legacy = job("high", None)
    assert admission_review(*objs, legacy, TEAM_NS, "UPDATE", old=legacy) is None
    moved = admission_review(*objs, job("high", None), TEAM_NS, "UPDATE", old=job("low", None))
    assert moved is not None and "set priorityClassName: high" in moved
    assert admission_review(*objs, job("high", "high"), TEAM_NS, "UPDATE", old=job("low", "high")) is None


def test_every_workload_the_platform_renders_is_admitted(objs):
    """The user's path: what `python -m components.cli workloads` renders for each team and kind passes
    the policy the cluster enforces (and a high job stripped of its priority would not)."""
    from components.model import parse_platform
    from components.workloads import kinds_for, render
    from conftest import load_dev_platform_raw

    platform = parse_platform(load_dev_platform_raw())
    checked = 0
    for team in platform.teams:
        labels = {**TEAM_NS, "kubernetes.io/metadata.name": team.name, "batch-platform/team": team.name}
        for kind in kinds_for(platform, team):
            for obj in render(platform, team.name, kind):
                if obj["kind"] in ("Job", "JobSet"):
                    assert admission_review(*objs, obj, labels) is None, (team.name, kind)
                    checked += 1
    assert checked == 20  # 4 teams x (high, low, compact, jobset), dws for team-a/b, shared for team-a/c
    high = next(o for o in render(platform, "team-a", "high") if o["kind"] == "Job")
    high["spec"]["template"]["spec"].pop("priorityClassName")
    assert admission_review(*objs, high, TEAM_NS) is not None


# --- Argo Workflows: each step pod is a plain pod Kueue admits through the queue its labels name -----------
# Kueue v0.19.2 site/content/en/docs/tasks/run/external_workloads/argo_workflow.md: the queue goes in
# `spec.podMetadata` (whole workflow) or `spec.templates[].metadata` (per template). Argo v4.0.6
# workflow/controller/workflowpod.go: `addMetadata` copies the workflow's pod labels then the template's onto
# the pod; the pod priority is `templates[].priorityClassName`, else `spec.podPriorityClassName`.


def workflow(queue: Optional[str], priority: Optional[str], step: Optional[dict] = None,
             kind: str = "Workflow", account: Optional[str] = "team-a-ksa") -> dict:
    spec: dict = {"entrypoint": "main", **({"serviceAccountName": account} if account else {}), "templates": [
        {"name": "main", "dag": {"tasks": [{"name": "train", "template": "train"}]}},
        {k: v for k, v in {"name": "train", "container": {"image": "trainer"}, **(step or {})}.items() if v is not None},
    ]}
    if queue:
        spec["podMetadata"] = {"labels": {"kueue.x-k8s.io/queue-name": queue}}
    if priority:
        spec["podPriorityClassName"] = priority
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind,
            "metadata": {"name": "pipeline", "namespace": "team-a"}, "spec": spec}


ADMITTED = [
    workflow("high", "high"), workflow("low", None),
    # operator.go executeResource / executeData create a pod each (createWorkflowPod): queued like a container.
    workflow("high", "high", {"container": None, "resource": {"action": "get", "manifest": "{}"}}),
    workflow("low", "low", kind="WorkflowTemplate"),
    {**workflow(None, None), "spec": {"workflowTemplateRef": {"name": "pipeline"}, "arguments": {}}},
    workflow(None, None, {"metadata": {"labels": {"kueue.x-k8s.io/queue-name": "high"}}, "priorityClassName": "high"}),
    workflow("low", None, {"metadata": {"labels": {"kueue.x-k8s.io/queue-name": "high"}}, "priorityClassName": "high"}),
]


@pytest.mark.parametrize("obj", ADMITTED)
def test_workflows_whose_step_pods_name_a_queue_at_its_priority_are_admitted(objs, obj):
    assert admission_review(*objs, obj, TEAM_NS) is None


REFUSED = [
    (workflow(None, None), "step template train runs a pod that no queue admits"),
    (workflow("someone-elses-queue", None), "step template train runs a pod"),
    (workflow("high", None), "(queue: priority = high: high, low: low"),
    (workflow("high", "low"), "step template train"),
    (workflow("high", "high", {"priorityClassName": "low"}), "step template train"),
    (workflow("low", None, {"metadata": {"labels": {"kueue.x-k8s.io/queue-name": "high"}}}), "step template train"),
    (workflow(None, None, kind="WorkflowTemplate"), "step template train"),
    (workflow(None, None, {"container": None, "resource": {"action": "get", "manifest": "{}"}}), "step template train"),
    (workflow("high", "high", {"podSpecPatch": '{"priorityClassName": "low"}'}), "podSpecPatch may rewrite"),
    ({**workflow("high", "low"), "spec": {"workflowTemplateRef": {"name": "pipeline"}, "podPriorityClassName": "low"}},
     "takes its queue and priority from that WorkflowTemplate"),
    ({**workflow("high", "low"), "spec": {"workflowTemplateRef": {"name": "pipeline"},
                                          "podMetadata": {"labels": {"kueue.x-k8s.io/queue-name": "high"}}}},
     "remove spec.podPriorityClassName and the kueue.x-k8s.io/queue-name label"),
    # Argo v4.0.6 workflow/controller/agent.go createAgentPod: the agent pod's labels are fixed (workflow,
    # completed, component), so no queue label reaches it.
    (workflow("high", "high", {"container": None, "http": {"url": "https://example.com"}}),
     "template train is an http or plugin template"),
]


@pytest.mark.parametrize("obj, says", REFUSED)
def test_workflows_with_a_step_that_would_bypass_the_queue_are_refused_at_submission(objs, obj, says):
    message = admission_review(*objs, obj, TEAM_NS)
    assert message is not None and says in message, message


# Argo v4.0.6 workflow/controller/workflowpod.go setupServiceAccount: a step pod runs as its template's
# serviceAccountName, else the workflow spec's (joined with its WorkflowTemplate's, util/merge.go
# JoinWorkflowSpec), else the namespace's `default`; `executor.serviceAccountName` mounts that account's
# token into the executor. Only the team's KSA has Workload Identity and the executor's Role.
OWN_ACCOUNT = [
    workflow("high", "high", {"serviceAccountName": "team-a-ksa"}, account=None),
    {**workflow(None, None), "spec": {"workflowTemplateRef": {"name": "pipeline"}}},
    {**workflow(None, None), "spec": {"workflowTemplateRef": {"name": "pipeline"}, "serviceAccountName": "team-a-ksa"}},
    workflow("low", "low", {"executor": {"serviceAccountName": "team-a-ksa"}}),
]


@pytest.mark.parametrize("obj", OWN_ACCOUNT)
def test_workflows_whose_step_pods_run_as_the_teams_own_account_are_admitted(objs, obj):
    assert admission_review(*objs, obj, TEAM_NS) is None


ANOTHER_ACCOUNT = [
    (workflow("high", "high", account=None), "set spec.serviceAccountName: team-a-ksa"),
    (workflow("high", "high", account="default"), "own service account team-a-ksa"),
    (workflow("high", "high", account="team-b-ksa"), "own service account team-a-ksa"),
    (workflow("high", "high", {"serviceAccountName": "argo-workflow"}), "(template train)"),
    (workflow("high", "high", {"executor": {"serviceAccountName": "default"}}), "executor.serviceAccountName"),
    ({**workflow("low", "low"), "spec": {**workflow("low", "low")["spec"], "executor": {"serviceAccountName": "x"}}},
     "executor.serviceAccountName"),
    (workflow("low", "low", kind="WorkflowTemplate", account=None), "set spec.serviceAccountName: team-a-ksa"),
    ({**workflow(None, None), "spec": {"workflowTemplateRef": {"name": "pipeline"}, "serviceAccountName": "default"}},
     "own service account team-a-ksa"),
]


@pytest.mark.parametrize("obj, says", ANOTHER_ACCOUNT)
def test_workflows_whose_step_pods_would_run_as_another_account_are_refused(objs, obj, says):
    message = admission_review(*objs, obj, TEAM_NS)
    assert message is not None and says in message, message


def test_a_workflow_update_is_checked_only_when_it_changes_what_its_pods_are_made_from(objs):
    """The controller writes a Workflow's status into the object itself: a status-only update of a workflow
    that predates the policy is admitted (it can still be stopped); changing its templates is checked."""
    legacy = workflow(None, None)
    with_status = {**legacy, "status": {"phase": "Running"}}
    assert admission_review(*objs, with_status, TEAM_NS, "UPDATE", old=legacy) is None
    changed = workflow(None, None, {"activeDeadlineSeconds": 60})
    assert admission_review(*objs, changed, TEAM_NS, "UPDATE", old=legacy) is not None
    assert admission_review(*objs, workflow(None, None), {"kubernetes.io/metadata.name": "argo"}) is None


# --- CronWorkflows: Argo v4.0.6 workflow/common/convert.go toWorkflow (workflow/cron/operator.go run) makes
# each scheduled Workflow's `spec` the CronWorkflow's `spec.workflowSpec`, so that is checked exactly as a
# Workflow's `spec` is, and refused when submitted, not at 02:00 when the created Workflow would be.
def cron(wf: dict) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": wf["metadata"],
            "spec": {"schedules": ["0 2 * * *"], "concurrencyPolicy": "Forbid", "workflowSpec": wf["spec"]}}


@pytest.mark.parametrize("wf", [w for w in ADMITTED + OWN_ACCOUNT if w["kind"] == "Workflow"])
def test_a_cron_workflow_whose_workflow_would_be_admitted_is_admitted(objs, wf):
    assert is_validated(cron(wf)) and problems(cron(wf)) == []
    assert admission_review(*objs, cron(wf), TEAM_NS) is None


@pytest.mark.parametrize("wf, says", [(w, says) for w, says in REFUSED + ANOTHER_ACCOUNT if w["kind"] == "Workflow"])
def test_a_cron_workflow_whose_workflow_would_be_refused_is_refused_naming_the_workflow_spec(objs, wf, says):
    message = admission_review(*objs, cron(wf), TEAM_NS)
    assert message is not None and says.replace("spec.", "spec.workflowSpec.") in message, message


def test_a_cron_workflow_update_is_checked_only_when_it_changes_what_its_pods_are_made_from(objs):
    """The cron controller writes status and the schedule annotation into the object: those updates of a
    CronWorkflow that predates the policy are admitted (it can still be suspended or deleted)."""
    legacy = cron(workflow(None, None))
    suspended = {**legacy, "spec": {**legacy["spec"], "suspend": True}, "status": {"active": []}}
    assert admission_review(*objs, suspended, TEAM_NS, "UPDATE", old=legacy) is None
    changed = cron(workflow(None, None, {"activeDeadlineSeconds": 60}))
    assert "spec.workflowSpec.podMetadata.labels" in admission_review(*objs, changed, TEAM_NS, "UPDATE", old=legacy)


def test_the_documented_nightly_cron_workflow_around_the_rendered_pipeline_is_admitted(objs):
    """docs/teams.md "Nightly": the CronWorkflow shown there, with the spec of the Workflow that `workloads
    --kind pipeline` renders under workflowSpec, validates, is admitted, and never overlaps two nights
    (Argo v4.0.6 docs/cron-workflows.md, concurrencyPolicy "`Forbid`: do not allow any new while there are old")."""
    import re
    from pathlib import Path

    import yaml

    from components.model import parse_platform
    from components.workloads import render
    from conftest import load_dev_platform_raw

    teams_md = (Path(__file__).resolve().parents[2] / "docs" / "teams.md").read_text()
    block = re.search(r"\n( *)```yaml\n((?:\1.*\n)*?)\1```", teams_md[teams_md.index("**Nightly**"):]).group(2)
    nightly = yaml.safe_load(block)
    assert nightly["kind"] == "CronWorkflow" and nightly["spec"]["concurrencyPolicy"] == "Forbid"
    assert nightly["spec"]["workflowSpec"] is None  # the user pastes the Workflow's spec there
    platform = parse_platform(load_dev_platform_raw())
    (wf,) = [o for o in render(platform, "team-d", "pipeline") if o["kind"] == "Workflow"]
    nightly["spec"]["workflowSpec"] = wf["spec"]
    assert problems(nightly) == []
    team_d = {**TEAM_NS, "kubernetes.io/metadata.name": "team-d"}
    assert admission_review(*objs, nightly, team_d) is None
    wf["spec"]["templates"][-1]["priorityClassName"] = "high"  # one step at another class's priority
    assert "spec.workflowSpec.podMetadata.labels" in admission_review(*objs, nightly, team_d)
