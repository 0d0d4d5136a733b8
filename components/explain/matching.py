"""Kubernetes' own matching rules, shared by Kueue's flavor check and the node placement check.

- Taints and tolerations (Kubernetes "Taints and Tolerations"; `k8s.io/component-helpers`
  `scheduling/corev1` FindMatchingUntoleratedTaint, `Toleration.ToleratesTaint`): an empty key with
  `Exists` tolerates everything; `Exists` ignores the value; `Equal` (the default) compares it; an
  empty effect matches every effect.
- Node selection (Kubernetes "Assigning Pods to Nodes"; component-helpers `nodeaffinity`
  GetRequiredNodeAffinity): every nodeSelector pair must match, and at least one term of the required
  node affinity (terms are ORed, expressions in a term ANDed) with operators In, NotIn, Exists,
  DoesNotExist, Gt, Lt. Kueue first drops selector keys and affinity expressions whose key the flavor
  does not define, and a term left empty matches every flavor (flavorassigner.go `flavorSelector`).
- Label selectors (Kubernetes "Labels and Selectors", metav1.LabelSelector): every matchLabels pair and
  every matchExpression (In, NotIn, Exists, DoesNotExist) must hold; the namespace selectors of
  ClusterQueues, of Kueue's managed namespaces and of admission policy bindings.
"""

from __future__ import annotations

from typing import Iterable, Optional


def tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    key = toleration.get("key", "")
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and bool(key) and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(taints: Iterable[dict], tolerations: list[dict],
                      effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> Optional[dict]:
    """The first taint with one of `effects` that no toleration tolerates, else None."""
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _expression(expr: dict, labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or [])
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def selector_matches(pod_spec: dict, labels: dict[str, str], only_keys: Optional[set[str]] = None) -> bool:
    """Would a node with `labels` satisfy the pod's nodeSelector and required node affinity?"""
    relevant = (lambda key: key in only_keys) if only_keys is not None else (lambda key: True)
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if relevant(key) and labels.get(key) != value:
            return False
    affinity = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = affinity.get("nodeSelectorTerms") or []
    if not terms:
        return True
    kept = []
    for term in terms:
        expressions = [e for e in term.get("matchExpressions") or [] if relevant(e.get("key"))]
        if not expressions:
            return True if only_keys is not None else _term_fields_only(term, labels)
        kept.append(expressions)
    return any(all(_expression(e, labels) for e in expressions) for expressions in kept)


def _term_fields_only(term: dict, labels: dict[str, str]) -> bool:
    # A term with only matchFields (e.g. metadata.name) says nothing about labels.
    return not term.get("matchExpressions")


def selector_mismatch(pod_spec: dict, labels: dict[str, str]) -> list[str]:
    """The nodeSelector pairs a node with `labels` does not satisfy (for messages)."""
    return [f"{k}={v}" for k, v in (pod_spec.get("nodeSelector") or {}).items() if labels.get(k) != v]


def labels_match(selector: dict, labels: dict[str, str]) -> bool:
    """Does a label selector select an object with `labels`?"""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        has, values = e["key"] in labels, e.get("values") or []
        op = e["operator"]
        if (op == "In" and not (has and labels[e["key"]] in values)) or (op == "NotIn" and has and labels[e["key"]] in values) \
                or (op == "Exists" and not has) or (op == "DoesNotExist" and has):
            return False
    return True
