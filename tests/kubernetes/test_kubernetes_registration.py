"""Every rendered manifest is registered with exactly the request the typed pulumi-kubernetes class sends.

components/kubernetes/resources.py `apply` registers a generic CustomResource instead of the typed classes
(k8s.core.v1.Namespace, ..., k8s.apiextensions.CustomResource), which the engine cannot tell apart only if
the RegisterResourceRequest is the same: type, name, parent, fields, dependencies, provider, SDK version,
plugin URL, aliases and every option. The typed classes of the pinned pulumi-kubernetes (requirements.txt)
are the reference: each kind any shipped stack renders is registered both ways (tests/registration_support.py)
and the two requests compared.
"""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest

from components.capture import run_stack
from components.kubernetes import resources
from tests.conftest import FLEET_STACKS, STACKS
from tests.registration_support import calls_recorded, requests_of, snake

# The typed class pulumi-kubernetes has for each built-in kind the platform renders.
TYPED = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("v1", "PersistentVolume"): k8s.core.v1.PersistentVolume,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("scheduling.k8s.io/v1", "PriorityClass"): k8s.scheduling.v1.PriorityClass,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("storage.k8s.io/v1", "StorageClass"): k8s.storage.v1.StorageClass,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): k8s.admissionregistration.v1.ValidatingAdmissionPolicy,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"):
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding,
}


def typed(logical_name: str, obj: dict, opts):
    """The reference: the typed class with the manifest's fields as its keyword arguments."""
    cls = TYPED.get((obj["apiVersion"], obj["kind"]))
    if cls is None:
        return k8s.apiextensions.CustomResource(logical_name, api_version=obj["apiVersion"], kind=obj["kind"],
                                                metadata=obj["metadata"], spec=obj.get("spec"), opts=opts)
    return cls(logical_name, opts=opts, **{snake(k): v for k, v in obj.items() if k not in ("apiVersion", "kind")})


def rendered_by_kind() -> dict[tuple[str, str], dict]:
    """The first manifest of each kind that `apply` gets while every shipped stack is planned."""
    with calls_recorded(resources.apply) as calls:
        for stack in (*STACKS, *FLEET_STACKS):
            run_stack(stack)
    seen: dict[tuple[str, str], dict] = {}
    for (_, obj, _), _ in calls:
        seen.setdefault((obj["apiVersion"], obj["kind"]), obj)
    return seen


RENDERED = rendered_by_kind()


def requests(register, obj: dict) -> list:
    return requests_of(lambda name, opts: register(name, obj, opts), lambda name, opts: k8s.Provider(name, opts=opts))


def test_every_rendered_kind_is_seen():
    """The comparison below covers the platform's kinds: the built-in ones and the CRDs' (Kueue, monitoring)."""
    kinds = {kind for _, kind in RENDERED}
    assert {"Namespace", "NetworkPolicy", "ClusterQueue", "LocalQueue", "ResourceFlavor", "PriorityClass",
            "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "Role"} <= kinds
    assert {key for key in RENDERED if key in TYPED} <= set(resources.BUILTIN_ALIASES)


@pytest.mark.parametrize("key", sorted(RENDERED), ids=lambda key: f"{key[0]}:{key[1]}")
def test_request_is_the_typed_class_request(key):
    obj = RENDERED[key]
    ours, reference = requests(resources.apply, obj), requests(typed, obj)
    assert [r.type for r in ours] == [r.type for r in reference]
    assert ours[-1].type == resources.type_token(*key)
    for mine, theirs in zip(ours, reference):
        assert mine == theirs, f"{mine.type}: {mine} != {theirs}"


def test_type_token_names_the_core_group():
    assert resources.type_token("v1", "Namespace") == "kubernetes:core/v1:Namespace"
    assert resources.type_token("kueue.x-k8s.io/v1beta2", "ClusterQueue") == "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
