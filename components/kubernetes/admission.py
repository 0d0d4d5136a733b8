"""Admission-time rules for team namespaces: pod PriorityClasses and the queue/priority policies (D3).

Kueue derives a Workload's priority from its pods' PriorityClass (Kueue
`site/content/en/docs/concepts/workload_priority_class.md`); a pod without one gets the global default
(`low`). A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes "Validating Admission
Policy") therefore rejects, in the platform's managed namespaces, a Job or JobSet whose
`kueue.x-k8s.io/queue-name` names a class but whose pods do not run at that class's priority, and a
compact-class job without its placement-group selector; the message says what to add.
"""

from __future__ import annotations

from components.model.flavors import GKE_PLACEMENT_GROUP_LABEL
from components.model.names import KSA_SUFFIX
from components.model.priorities import DEFAULT_PRIORITY_CLASS, PRIORITY_CLASSES, QUEUE_CLASSES, priority_class_for

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
VAP_API = "admissionregistration.k8s.io/v1"

# Per kind: the API it lives in and where its pod templates are (CEL over the typed object).
KINDS = {
    "jobs": {
        "group": "batch", "version": "v1",
        "pod_specs": "[object.spec.template.spec]",
        "where": "spec.template.spec",
    },
    "jobsets": {
        "group": "jobset.x-k8s.io", "version": "v1alpha2",
        "pod_specs": "object.spec.replicatedJobs.map(r, r.template.spec.template.spec)",
        "where": "every spec.replicatedJobs[*].template.spec.template.spec",
    },
    # Model servers: Kueue's `deployment` integration admits their pods (components/workloads/serving.py).
    "deployments": {
        "group": "apps", "version": "v1",
        "pod_specs": "[object.spec.template.spec]",
        "where": "spec.template.spec",
    },
}


def priority_classes() -> list[dict]:
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": pc.value,
            "preemptionPolicy": pc.preemption_policy,
            "globalDefault": pc.global_default,
            "description": pc.description,
        }
        for name, pc in PRIORITY_CLASSES.items()
    ]


def _cel_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def policy_name(resource: str) -> str:
    return f"queue-priority-{resource}"


def _class_priorities() -> str:
    """The CEL map from each queue class to the PriorityClass its pods must carry."""
    return "{" + ", ".join(f"{_cel_string(c)}: {_cel_string(priority_class_for(c))}" for c in QUEUE_CLASSES) + "}"


def _policy(resource: str, group: str, version: str, spec: dict) -> dict:
    """A fail-closed ValidatingAdmissionPolicy on CREATE and UPDATE of `resource`, with the rest of its spec."""
    return {
        "apiVersion": VAP_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy_name(resource)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [group], "apiVersions": [version],
                "operations": ["CREATE", "UPDATE"], "resources": [resource],
            }]},
            **spec,
        },
    }


def queue_priority_policy(resource: str) -> dict:
    kind = KINDS[resource]
    expected = _class_priorities()
    where = kind["where"]
    label = _cel_string(QUEUE_LABEL)
    return _policy(resource, kind["group"], kind["version"], {
        "matchConditions": [
            # Only jobs that name one of the platform's queue classes; other queue names have no LocalQueue.
            {
                "name": "names-a-queue-class",
                "expression": f"has(object.metadata.labels) && {label} in object.metadata.labels && "
                              f"object.metadata.labels[{label}] in {expected}",
            },
            # Updates only when they (re)name the queue: the pod priority of a Job or JobSet is immutable,
            # and checking every update would let a job that predates the policy block its own
            # controller's updates and deletion (finalizers).
            {
                "name": "creates-or-renames-the-queue",
                "expression": f"request.operation != 'UPDATE' || !has(oldObject.metadata.labels) || "
                              f"!({label} in oldObject.metadata.labels) || "
                              f"oldObject.metadata.labels[{label}] != object.metadata.labels[{label}]",
            },
        ],
        "variables": [
            {"name": "queue", "expression": f"object.metadata.labels[{label}]"},
            {"name": "expected", "expression": f"{expected}[variables.queue]"},
            {"name": "podSpecs", "expression": kind["pod_specs"]},
            # A pod without priorityClassName runs at the global default.
            {"name": "priorities", "expression": "variables.podSpecs.map(s, has(s.priorityClassName) ? "
                                                 f"s.priorityClassName : {_cel_string(DEFAULT_PRIORITY_CLASS)})"},
        ],
        "validations": [
            {
                "expression": "variables.priorities.all(p, p == variables.expected)",
                "reason": "Invalid",
                "messageExpression": (
                    f"'queue ' + variables.queue + ' admits work at priority ' + variables.expected + "
                    f"' (Kueue takes the job priority from its pods), but its pods run at ' + "
                    f"variables.priorities.filter(p, p != variables.expected)[0] + ': set priorityClassName: ' + "
                    f"variables.expected + ' in {where}'"
                ),
            },
            {
                "expression": "variables.queue != 'compact' || variables.podSpecs.all(s, has(s.nodeSelector) && "
                              f"{_cel_string(GKE_PLACEMENT_GROUP_LABEL)} in s.nodeSelector)",
                "reason": "Invalid",
                "messageExpression": (
                    f"'queue compact needs a compact-placement node pool per job: add nodeSelector "
                    f"{GKE_PLACEMENT_GROUP_LABEL}: <namespace>-<job name> in {where}'"
                ),
            },
        ],
    })


# Argo Workflows: Kueue manages a workflow's step pods through its plain-pod integration, one Workload per
# pod, queue label from `spec.podMetadata` or `spec.templates[].metadata` (Kueue v0.19.2
# site/content/en/docs/tasks/run/external_workloads/argo_workflow.md). Argo v4.0.6
# workflow/controller/workflowpod.go copies those labels onto the pod (`addMetadata`, the template's last)
# and takes the pod priority from `templates[].priorityClassName`, else `spec.podPriorityClassName`.
# Where each kind keeps the workflow spec its pods are made from. Argo v4.0.6 workflow/common/convert.go
# toWorkflow (called by workflow/cron/operator.go run through ConvertCronWorkflowToWorkflowWithProperties):
# a CronWorkflow's `spec.workflowSpec` becomes, unchanged, the `spec` of each Workflow it creates.
WORKFLOW_RESOURCES = {"workflows": "spec", "workflowtemplates": "spec", "cronworkflows": "spec.workflowSpec"}
# Argo v4.0.6 workflow/controller/operator.go `executeTemplate`: container, containerSet, script, resource and
# data templates each create a pod (`createWorkflowPod`); dag and steps run in the controller, suspend waits.
# http and plugin templates run in the workflow's agent pod (agent.go `createAgentPod`), whose labels are
# fixed and carry no queue, so Kueue would hold it forever: they are refused.
_AGENT = "has(t.http) || has(t.plugin)"
_MAKES_A_POD = f"!has(t.dag) && !has(t.steps) && !has(t.suspend) && !({_AGENT})"


def workflow_queue_policy(resource: str) -> dict:
    root = WORKFLOW_RESOURCES[resource]
    spec, old = f"object.{root}", f"oldObject.{root}"
    expected = _class_priorities()
    label = _cel_string(QUEUE_LABEL)
    default = _cel_string(DEFAULT_PRIORITY_CLASS)
    pod_labels = f"has({spec}.podMetadata) && has({spec}.podMetadata.labels) && "
    workflow_queue = (f"{pod_labels}{label} in {spec}.podMetadata.labels ? "
                      f"{spec}.podMetadata.labels[{label}] : ''")
    queue = (f"has(t.metadata) && has(t.metadata.labels) && {label} in t.metadata.labels ? "
             f"t.metadata.labels[{label}] : ({workflow_queue})")
    priority = (f"has(t.priorityClassName) ? t.priorityClassName : (has({spec}.podPriorityClassName) ? "
                f"{spec}.podPriorityClassName : {default})")
    pairs = ", ".join(f"{c}: {priority_class_for(c)}" for c in QUEUE_CLASSES)
    return _policy(resource, "argoproj.io", "v1alpha1", {
        "matchConditions": [
            # The controller rewrites a Workflow's status in the object itself: updates are checked only
            # when they change what its pods are made from, so an old workflow can still be stopped.
            {
                "name": "creates-or-changes-the-pods",
                "expression": "request.operation != 'UPDATE' || "
                              f"(has({spec}.templates) ? {spec}.templates : []) != "
                              f"(has({old}.templates) ? {old}.templates : []) || "
                              f"(has({spec}.podMetadata) ? {spec}.podMetadata : {{}}) != "
                              f"(has({old}.podMetadata) ? {old}.podMetadata : {{}}) || "
                              f"(has({spec}.podPriorityClassName) ? {spec}.podPriorityClassName : '') != "
                              f"(has({old}.podPriorityClassName) ? {old}.podPriorityClassName : '') || "
                              f"(has({spec}.serviceAccountName) ? {spec}.serviceAccountName : '') != "
                              f"(has({old}.serviceAccountName) ? {old}.serviceAccountName : '') || "
                              f"(has({spec}.executor) ? {spec}.executor : {{}}) != "
                              f"(has({old}.executor) ? {old}.executor : {{}})",
            },
        ],
        "variables": [
            {"name": "expected", "expression": expected},
            {"name": "steps", "expression": f"has({spec}.templates) ? "
                                            f"{spec}.templates.filter(t, {_MAKES_A_POD}) : []"},
            {"name": "wrong", "expression": f"variables.steps.filter(t, !(({queue}) in variables.expected) || "
                                            f"({priority}) != variables.expected[{queue}]).map(t, t.name)"},
            # Argo v4.0.6 workflow/controller/workflowpod.go setupServiceAccount: a step pod runs as its
            # template's serviceAccountName, else the (joined) workflow spec's, else the namespace's
            # `default`; executor.serviceAccountName mounts another account's token into the executor.
            {"name": "account", "expression": f"request.namespace + {_cel_string(KSA_SUFFIX)}"},
            {"name": "strangers", "expression": (
                "variables.steps.filter(t, (has(t.serviceAccountName) ? t.serviceAccountName : "
                f"(has({spec}.serviceAccountName) ? {spec}.serviceAccountName : "
                f"(has({spec}.workflowTemplateRef) ? variables.account : ''))) != variables.account || "
                "(has(t.executor) && has(t.executor.serviceAccountName) && "
                "t.executor.serviceAccountName != variables.account)).map(t, t.name)")},
        ],
        "validations": [
            {
                "expression": f"!has({spec}.templates) || !{spec}.templates.exists(t, {_AGENT})",
                "reason": "Invalid",
                "messageExpression": (
                    f"'template ' + {spec}.templates.filter(t, {_AGENT})[0].name + ' is an http or plugin "
                    "template: Argo runs those in its agent pod, which carries no queue label, so Kueue would "
                    "hold it forever: make the call from a container step instead'"
                ),
            },
            {
                "expression": "variables.wrong.size() == 0",
                "reason": "Invalid",
                "messageExpression": (
                    "'step template ' + variables.wrong[0] + ' runs a pod that no queue admits at its priority "
                    f"(Kueue admits each workflow pod through a team queue): set {QUEUE_LABEL} in "
                    f"{root}.podMetadata.labels or the template\\'s metadata.labels, and the matching "
                    f"priorityClassName or {root}.podPriorityClassName (queue: priority = {pairs})'"
                ),
            },
            # Only the team's own account has Workload Identity to its bucket and the executor's right to
            # write its results (the team Role); any other fails every step at run time instead of here.
            {
                "expression": f"(!has({spec}.serviceAccountName) || {spec}.serviceAccountName == "
                              f"variables.account) && (!has({spec}.executor) || "
                              f"!has({spec}.executor.serviceAccountName) || "
                              f"{spec}.executor.serviceAccountName == variables.account) && "
                              "variables.strangers.size() == 0",
                "reason": "Forbidden",
                "messageExpression": (
                    "'step pods run as the team\\'s own service account ' + variables.account + ' (Workload "
                    "Identity to the team bucket; the only account allowed to write Argo\\'s step results): set "
                    f"{root}.serviceAccountName: ' + variables.account + ' and remove any other serviceAccountName or "
                    "executor.serviceAccountName' + (variables.strangers.size() > 0 ? ' (template ' + "
                    "variables.strangers[0] + ')' : '')"
                ),
            },
            # Argo v4.0.6 workflow/util/merge.go JoinWorkflowSpec: a referencing Workflow's spec wins over its
            # WorkflowTemplate's, so a queue or priority set here would apply to templates the WorkflowTemplate
            # policy checked against another one.
            {
                "expression": f"!has({spec}.workflowTemplateRef) || (!has({spec}.podPriorityClassName) "
                              f"&& !({pod_labels}{label} in {spec}.podMetadata.labels))",
                "reason": "Invalid",
                "messageExpression": (
                    f"'a workflow that runs {root}.workflowTemplateRef takes its queue and priority from that "
                    f"WorkflowTemplate: remove {root}.podPriorityClassName and the {QUEUE_LABEL} label of "
                    f"{root}.podMetadata, or set them in the WorkflowTemplate'"
                ),
            },
            {
                "expression": f"!has({spec}.podSpecPatch) && (!has({spec}.templates) || "
                              f"{spec}.templates.all(t, !has(t.podSpecPatch)))",
                "reason": "Invalid",
                "messageExpression": ("'podSpecPatch may rewrite a step pod\\'s priority or labels after "
                                      "this check: set the fields it patches in the templates instead'"),
            },
        ],
    })


def queue_priority_binding(resource: str, namespace_labels: dict[str, str]) -> dict:
    return {
        "apiVersion": VAP_API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy_name(resource)},
        "spec": {
            "policyName": policy_name(resource),
            "validationActions": ["Deny"],
            # Only the platform's team namespaces (the label Kueue's namespace selector uses too).
            "matchResources": {"namespaceSelector": {"matchLabels": dict(namespace_labels)}},
        },
    }


def admission_objects(namespace_labels: dict[str, str]) -> list[dict]:
    objs = []
    for resource in KINDS:
        objs += [queue_priority_policy(resource), queue_priority_binding(resource, namespace_labels)]
    for resource in WORKFLOW_RESOURCES:
        objs += [workflow_queue_policy(resource), queue_priority_binding(resource, namespace_labels)]
    return objs
