"""The API server's evaluation of ValidatingAdmissionPolicies, restated for tests (Kubernetes "Validating
Admission Policy", https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/):
matchConstraints and the binding's namespaceSelector pick the request, every matchCondition must be true,
`variables` are composed in order, and a validation whose expression is false denies the request with its
messageExpression. The CEL runs in cel-python."""

from __future__ import annotations

from typing import Optional

import celpy

from components.kubernetes import cel

VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
TEAM_NS = {"kubernetes.io/metadata.name": "team-a", "batch-platform/team": "team-a", "batch-platform/kueue-managed": "true"}


def _eval(expression: str, activation: dict):
    result = cel.program(expression).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise result
    return result


def admission_review(policies: list[dict], bindings: list[dict], obj: dict, namespace_labels: dict,
                     operation: str = "CREATE", old: Optional[dict] = None) -> Optional[str]:
    """The first denial message for `obj`, or None when every bound policy admits it."""
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = obj["kind"].lower() + "s"
    for binding in bindings:
        wanted = binding["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]
        if any(namespace_labels.get(k) != v for k, v in wanted.items()):
            continue
        policy = next(p for p in policies if p["metadata"]["name"] == binding["spec"]["policyName"])
        spec = policy["spec"]
        if not any(group in r["apiGroups"] and version in r["apiVersions"] and resource in r["resources"]
                   and operation in r["operations"] for r in spec["matchConstraints"]["resourceRules"]):
            continue
        activation = {"object": celpy.json_to_cel(obj), "oldObject": celpy.json_to_cel(old),
                      "request": celpy.json_to_cel({"operation": operation,
                                                    "namespace": namespace_labels.get("kubernetes.io/metadata.name", "")})}
        if not all(_eval(c["expression"], activation) for c in spec.get("matchConditions", [])):
            continue
        variables: dict = {}
        for var in spec.get("variables", []):
            variables[var["name"]] = _eval(var["expression"], {**activation, "variables": celpy.celtypes.MapType(variables)})
        activation["variables"] = celpy.celtypes.MapType(variables)
        for rule in spec["validations"]:
            if not _eval(rule["expression"], activation):
                assert binding["spec"]["validationActions"] == ["Deny"]
                return str(_eval(rule["messageExpression"], activation))
    return None
