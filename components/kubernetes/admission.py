"""Admission-time rules for team namespaces: pod PriorityClasses and the queue/priority policy (D3).

Kueue derives a Workload's priority from its pods' PriorityClass (Kueue
`site/content/en/docs/concepts/workload_priority_class.md`); a pod without one gets the global default
(`low`). A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes "Validating Admission
Policy") therefore rejects, in the platform's managed namespaces, a Job or JobSet whose
`kueue.x-k8s.io/queue-name` names a class but whose pods do not run at that class's priority, and a
compact-class job without its placement-group selector; the message says what to add.
"""

from __future__ import annotations

from components.model.flavors import GKE_PLACEMENT_GROUP_LABEL
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


def queue_priority_policy(resource: str) -> dict:
    kind = KINDS[resource]
    expected = "{" + ", ".join(f"{_cel_string(c)}: {_cel_string(priority_class_for(c))}" for c in QUEUE_CLASSES) + "}"
    where = kind["where"]
    label = _cel_string(QUEUE_LABEL)
    return {
        "apiVersion": VAP_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy_name(resource)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [kind["group"]], "apiVersions": [kind["version"]],
                "operations": ["CREATE", "UPDATE"], "resources": [resource],
            }]},
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
        },
    }


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
    return objs
