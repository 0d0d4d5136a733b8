"""Submission: would the API server accept the Job/JobSet? The rendered ValidatingAdmissionPolicies, run.

Kubernetes "Validating Admission Policy" (admissionregistration.k8s.io/v1): a binding selects
namespaces (`matchResources.namespaceSelector`), its policy matches the request's group/version/
resource (`matchConstraints.resourceRules`) and its `matchConditions`; `variables` are evaluated in
order and visible as `variables.<name>`; a validation whose expression is false rejects the request
(`validationActions: [Deny]`) with `messageExpression` (or `message`). CEL is evaluated with
cel-python, as for the CRDs' own rules (components/kubernetes/manifest_validation.py).
"""

from __future__ import annotations

from typing import Optional

import celpy

from ..kubernetes import cel
from .matching import labels_match

RESOURCES = {("batch", "Job"): "jobs", ("jobset.x-k8s.io", "JobSet"): "jobsets", ("apps", "Deployment"): "deployments",
             ("argoproj.io", "Workflow"): "workflows", ("argoproj.io", "WorkflowTemplate"): "workflowtemplates",
             ("argoproj.io", "CronWorkflow"): "cronworkflows"}


def _eval(expression: str, activation: dict):
    result = cel.program(expression).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise result
    return result


def _rule_matches(rule: dict, group: str, version: str, resource: str) -> bool:
    def has(items, value):
        return "*" in (items or []) or value in (items or [])
    return (has(rule.get("apiGroups"), group) and has(rule.get("apiVersions"), version)
            and has(rule.get("resources"), resource) and has(rule.get("operations"), "CREATE"))


def rejections(objects: list[dict], obj: dict, namespace_labels: dict[str, str]) -> list[str]:
    """Messages of every policy that denies creating `obj` in a namespace with `namespace_labels`."""
    group, _, version = obj.get("apiVersion", "").rpartition("/")
    resource = RESOURCES.get((group, obj.get("kind")))
    if resource is None:
        return []
    policies = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "ValidatingAdmissionPolicy"}
    denied = []
    for binding in (o for o in objects if o.get("kind") == "ValidatingAdmissionPolicyBinding"):
        spec = binding.get("spec") or {}
        policy = policies.get(spec.get("policyName"))
        if policy is None or "Deny" not in (spec.get("validationActions") or []):
            continue
        if not labels_match((spec.get("matchResources") or {}).get("namespaceSelector") or {}, namespace_labels):
            continue
        message = _denial(policy, obj, group, version, resource, namespace_labels.get("kubernetes.io/metadata.name"))
        if message:
            denied.append(f"{policy['metadata']['name']}: {message}")
    return denied


def _denial(policy: dict, obj: dict, group: str, version: str, resource: str, namespace: Optional[str]) -> Optional[str]:
    spec = policy.get("spec") or {}
    rules = (spec.get("matchConstraints") or {}).get("resourceRules") or []
    if not any(_rule_matches(r, group, version, resource) for r in rules):
        return None
    # A create: `oldObject` is null and `request.operation` is CREATE (the AdmissionRequest the policy sees).
    activation = {"object": celpy.json_to_cel(obj), "oldObject": None,
                  "request": celpy.json_to_cel({"operation": "CREATE", "kind": {"group": group, "version": version,
                                                                                  "kind": obj.get("kind")},
                                                "namespace": namespace or (obj.get("metadata") or {}).get("namespace", "")})}
    try:
        if not all(bool(_eval(c["expression"], activation)) for c in spec.get("matchConditions") or []):
            return None
        variables: dict = {}
        for v in spec.get("variables") or []:
            activation["variables"] = celpy.json_to_cel(variables) if not variables else celpy.celtypes.MapType(variables)
            variables[celpy.celtypes.StringType(v["name"])] = _eval(v["expression"], activation)
        activation["variables"] = celpy.celtypes.MapType(variables)
        for validation in spec.get("validations") or []:
            if not bool(_eval(validation["expression"], activation)):
                if validation.get("messageExpression"):
                    return str(_eval(validation["messageExpression"], activation))
                return validation.get("message") or f"failed expression: {validation['expression']}"
    except celpy.CELEvalError as err:
        # failurePolicy Fail: an expression that errors rejects the request too.
        if spec.get("failurePolicy", "Fail") == "Fail":
            return f"policy expression failed to evaluate ({err.args[0] if err.args else err}); failurePolicy Fail rejects"
    return None
