"""Tenancy policies (Kubernetes objects): Pod Security levels, team default-deny NetworkPolicies,
wildcard RBAC roles and bindings of powerful roles to everyone."""

from __future__ import annotations

from typing import Any, Iterator, Optional

from pulumi_policy import ResourceValidationArgs

from .building import resource_policy, schema, stack_policy
from .stack import StackView
from .values import UNKNOWN, get, items, mapping

T_NAMESPACE = "kubernetes:core/v1:Namespace"
T_NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RBAC = "kubernetes:rbac.authorization.k8s.io/v1"
ENFORCE = "pod-security.kubernetes.io/enforce"
TEAM_LABEL = "batch-platform/team"
# The documented exceptions (docs/security.md): kube-prometheus-stack's node-exporter needs host access.
DEFAULT_EXEMPT = {"monitoring": "privileged"}

# ---------------------------------------------------------------------------------------------------


def _check_pod_security(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    name = get(props, "metadata", "name")
    labels = get(props, "metadata", "labels")
    if name is UNKNOWN or labels is UNKNOWN:
        return
    name = name if isinstance(name, str) else args.name
    level = mapping(props, "metadata", "labels").get(ENFORCE)
    if level is UNKNOWN:
        return
    allowed = {"restricted", mapping(config, "exemptNamespaces").get(name, "restricted")}
    if not isinstance(level, str) or level not in allowed:
        yield (f"Namespace {name!r} enforces Pod Security {level or 'nothing (no ' + ENFORCE + ' label)'}, "
               f"not {' or '.join(sorted(allowed))}: privileged, hostNetwork or hostPath pods would be admitted")


POD_SECURITY_RESTRICTED = resource_policy(
    "namespace-pod-security-restricted",
    "Every namespace must enforce the Pod Security Standard `restricted` (CIS GKE Benchmark 4.2.1), except "
    "the documented system ones at the level their charts need. Without it any member who may create a Job "
    "can run a privileged, hostNetwork or hostPath-/ pod on a GPU node and own the node. Fix: label the "
    "namespace pod-security.kubernetes.io/enforce: restricted, or list it in exemptNamespaces with the "
    "level its workloads need and why.",
    (T_NAMESPACE,),
    _check_pod_security,
    config_schema=schema(exemptNamespaces={
        "type": "object", "additionalProperties": {"type": "string", "enum": ["privileged", "baseline", "restricted"]},
        "default": DEFAULT_EXEMPT,
        "description": "Namespace -> the Pod Security level it may enforce instead of restricted.",
    }),
)

# ---------------------------------------------------------------------------------------------------


def _is_default_deny(spec: Any) -> bool:
    return (isinstance(spec, dict) and spec.get("podSelector") in ({}, None)
            and {"Ingress", "Egress"} <= {t for t in items(spec, "policyTypes") if isinstance(t, str)}
            and not items(spec, "ingress") and not items(spec, "egress"))


def _check_default_deny(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    denied = set()
    for r in stack.of_type(T_NETPOL):
        props = stack.props[r.urn]
        if _is_default_deny(props.get("spec")):
            denied.add(get(props, "metadata", "namespace"))
    for r in stack.of_type(T_NAMESPACE):
        props = stack.props[r.urn]
        name, team = get(props, "metadata", "name"), mapping(props, "metadata", "labels").get(TEAM_LABEL)
        if isinstance(name, str) and isinstance(team, str) and name not in denied:
            yield (f"team namespace {name!r} has no default-deny NetworkPolicy (podSelector {{}}, policyTypes "
                   "Ingress and Egress, no rules): its pods accept and open connections to every other team", r.urn)


TEAM_DEFAULT_DENY = stack_policy(
    "team-namespace-default-deny",
    "Every team namespace must deny all ingress and egress by default (CIS GKE Benchmark 4.3.2) and allow "
    "only what a job needs in further policies. Without it one team's pods reach another team's training "
    "processes and any address in the VPC. Fix: add a NetworkPolicy with podSelector {} and policyTypes "
    "[Ingress, Egress] and no rules to the namespace (components/kubernetes/isolation.py renders it).",
    _check_default_deny,
)

# ---------------------------------------------------------------------------------------------------

BROAD_SUBJECTS = {("Group", "system:authenticated"), ("Group", "system:unauthenticated"), ("User", "system:anonymous"),
                  ("Group", "system:serviceaccounts"), ("Group", "allUsers"), ("Group", "allAuthenticatedUsers")}
POWERFUL_ROLES = {"cluster-admin", "admin", "edit"}


def _check_rbac(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    kind = args.resource_type.rsplit(":", 1)[-1]
    name = get(props, "metadata", "name")
    name = name if isinstance(name, str) else args.name
    if kind in ("Role", "ClusterRole"):
        for i, rule in enumerate(items(props, "rules")):
            if "*" in items(rule, "verbs") and "*" in items(rule, "resources"):
                yield f"{kind} {name!r}: rules[{i}] grants every verb (*) on every resource (*)"
        return
    role = get(props, "roleRef", "name")
    if not isinstance(role, str) or role not in POWERFUL_ROLES:
        return
    for i, subject in enumerate(items(props, "subjects")):
        who = (get(subject, "kind"), get(subject, "name"))
        if all(isinstance(w, str) for w in who) and who in BROAD_SUBJECTS:
            yield f"{kind} {name!r}: subjects[{i}] {who[0]} {who[1]} gets {role}"


NO_WILDCARD_OR_BROAD_RBAC = resource_policy(
    "no-wildcard-or-broad-rbac",
    "No Role or ClusterRole may grant every verb on every resource (CIS GKE Benchmark 4.1.3), and no binding "
    "may give cluster-admin, admin or edit to everyone (system:authenticated is every Google account, "
    "system:unauthenticated and system:anonymous anyone; CIS GKE 4.1.1). Fix: list the verbs and resources "
    "the subject needs, and bind powerful roles to named users or groups only.",
    tuple(f"{RBAC}:{k}" for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")),
    _check_rbac,
)

POLICIES = [POD_SECURITY_RESTRICTED, TEAM_DEFAULT_DENY, NO_WILDCARD_OR_BROAD_RBAC]
