"""Every rendered manifest is registered with exactly the request the typed pulumi-kubernetes class sends.

components/kubernetes/resources.py `apply` registers a generic CustomResource instead of the typed classes
(k8s.core.v1.Namespace, ..., k8s.apiextensions.CustomResource), which the engine cannot tell apart only if
the RegisterResourceRequest is the same: type, name, parent, fields, dependencies, provider, SDK version,
plugin URL, aliases and every option. The typed classes of the pinned pulumi-kubernetes (requirements.txt)
are the reference here: each kind any shipped stack renders, with the options the program uses, is
registered both ways under Pulumi's mock monitor and the two requests compared field by field.
"""

from __future__ import annotations

import re
import sys

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.capture import run_stack
from components.kubernetes import resources
from tests.conftest import FLEET_STACKS, STACKS

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


def typed(logical_name: str, obj: dict, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """The reference: the typed class with the manifest's fields as its keyword arguments."""
    cls = TYPED.get((obj["apiVersion"], obj["kind"]))
    if cls is None:
        return k8s.apiextensions.CustomResource(logical_name, api_version=obj["apiVersion"], kind=obj["kind"],
                                                metadata=obj["metadata"], spec=obj.get("spec"), opts=opts)
    snake = {k: re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower() for k in obj if k not in ("apiVersion", "kind")}
    return cls(logical_name, opts=opts, **{snake[k]: v for k, v in obj.items() if k in snake})


def rendered_by_kind() -> dict[tuple[str, str], dict]:
    """The first manifest of each kind that `apply` gets while every shipped stack is planned."""
    seen: dict[tuple[str, str], dict] = {}
    original = resources.apply

    def recording(logical_name: str, obj: dict, opts: pulumi.ResourceOptions):
        seen.setdefault((obj["apiVersion"], obj["kind"]), obj)
        return original(logical_name, obj, opts)

    # Every module that imported `apply` by name calls it through its own binding.
    bound = [m for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith("components.")
             and getattr(m, "apply", None) is original]
    for module in bound:
        module.apply = recording
    try:
        for stack in (*STACKS, *FLEET_STACKS):
            run_stack(stack)
    finally:
        for module in bound:
            module.apply = original
    return seen


RENDERED = rendered_by_kind()


class _Requests(pulumi_mocks.MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.requests = []

    def RegisterResource(self, request):
        self.requests.append(request)
        return super().RegisterResource(request)


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", args.inputs

    def call(self, args):
        return {}


def requests_of(register, obj: dict) -> list:
    """The RegisterResourceRequests of a small program: a parent component, a provider, a dependency and
    `register` with the options the platform uses (parent, provider, depends_on, an alias, replace options)."""
    monitor = _Requests(_Mocks())

    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        provider = k8s.Provider("cluster", opts=pulumi.ResourceOptions(parent=parent))
        before = pulumi.CustomResource("test:index:Before", "before", {}, pulumi.ResourceOptions(parent=parent))
        register("object", obj, pulumi.ResourceOptions(
            parent=parent, providers={"kubernetes": provider}, depends_on=[before],
            aliases=[pulumi.Alias(name="object-before-a-rename")],
            replace_on_changes=["spec.clusterQueue"], delete_before_replace=True))

    pulumi.runtime.set_mocks(_Mocks(), project="p", stack="s", preview=False, monitor=monitor)
    pulumi.runtime.settings.set_root_resource(None)
    _sync_await(run_pulumi_func(program))
    requests = [r for r in monitor.requests if r.type != "pulumi:pulumi:Stack"]
    for request in requests:  # where in Python the resource was made: diagnostics only, and a different line
        request.ClearField("stackTrace")
        request.ClearField("sourcePosition")
    return requests


def test_every_rendered_kind_is_seen():
    """The comparison below covers the platform's kinds: the built-in ones and the CRDs' (Kueue, monitoring)."""
    kinds = {kind for _, kind in RENDERED}
    assert {"Namespace", "NetworkPolicy", "ClusterQueue", "LocalQueue", "ResourceFlavor", "PriorityClass",
            "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "Role"} <= kinds
    assert {key for key in RENDERED if key in TYPED} <= set(resources.BUILTIN_ALIASES)


@pytest.mark.parametrize("key", sorted(RENDERED), ids=lambda key: f"{key[0]}:{key[1]}")
def test_request_is_the_typed_class_request(key):
    obj = RENDERED[key]
    ours, reference = requests_of(resources.apply, obj), requests_of(typed, obj)
    assert [r.type for r in ours] == [r.type for r in reference]
    assert ours[-1].type == resources.type_token(*key)
    for mine, theirs in zip(ours, reference):
        assert mine == theirs, f"{mine.type}: {mine} != {theirs}"


def test_type_token_names_the_core_group():
    assert resources.type_token("v1", "Namespace") == "kubernetes:core/v1:Namespace"
    assert resources.type_token("kueue.x-k8s.io/v1beta2", "ClusterQueue") == "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
