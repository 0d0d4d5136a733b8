"""Helpers for the policy-pack tests (tests/policies/test_policies*.py): the dev capture to mutate, resource
lookup and edits as the program would register them, and running one policy the way the CLI does."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Optional

import pytest
import yaml

from components.capture import PROJECT, REPO, Capture, Resource, autoname
from policies.gpu_batch_policies import POLICIES
from policies.runner import Report, run_policies

POLICY = {p.name: p for p in POLICIES}
PLATFORM_KEY = f"{PROJECT}:platform"
K8S_PROVIDER = "urn:pulumi:dev::gpu-batch-platform::pulumi:providers:kubernetes::kubernetes::kubernetes-id"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's markers for unknown values
UNKNOWN_OBJECT = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"
SECRET_SIG = "4dabf18193072939515e22adb298388d"

T_CLUSTER = "gcp:container/cluster:Cluster"
T_POOL = "gcp:container/nodePool:NodePool"
T_RESERVATION = "gcp:compute/reservation:Reservation"


def gke_pool(flavor: str) -> str:
    """The GKE name the provider auto-names the pool of `flavor` with (stable under the mocks)."""
    return autoname(T_POOL, f"{flavor}-pool")


RESERVATION = autoname(T_RESERVATION, "l4-reserved-reservation")
T_CQ = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
T_LQ = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
T_RF = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
T_CHART = "kubernetes:helm.sh/v4:Chart"


def dev_config() -> dict:
    # A JSON round trip, not deepcopy: Pulumi.dev.yaml shares one `queues` mapping between teams.
    return json.loads(json.dumps(yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]))


@pytest.fixture(scope="session")
def policy_dev(dev_capture: Capture) -> Capture:
    """The dev stack under mocks: conftest's one session capture (tests work on clones, never on it)."""
    return dev_capture


@pytest.fixture
def dev(policy_dev: Capture) -> Capture:
    """A private clone of the dev capture to mutate."""
    return copy.deepcopy(policy_dev)


def res(capture: Capture, type_: str, name: str) -> Resource:
    """The captured resource of `type_` whose logical name or metadata/GCP name is `name`."""
    found = [r for r in capture.resources if r.type == type_ and name in (
        r.name, r.inputs.get("name"), (r.inputs.get("metadata") or {}).get("name"))]
    assert len(found) == 1, f"{len(found)} {type_} named {name!r}"
    return found[0]


def edit(resource: Resource, change: Callable[[dict], Any]) -> Resource:
    """Apply `change` to the resource's inputs; its outputs (what stack policies see) follow."""
    change(resource.inputs)
    computed = {k: v for k, v in resource.outputs.items() if k not in resource.inputs}
    resource.outputs = {**copy.deepcopy(resource.inputs), **computed}
    return resource


def add(capture: Capture, type_: str, name: str, inputs: dict, options: Optional[dict] = None) -> Resource:
    """Add a crafted resource (as the program would register it) to the capture."""
    resource = Resource(
        urn=f"urn:pulumi:{capture.stack}::{PROJECT}::{type_}::{name}", type=type_, name=name, custom=True,
        parent="", inputs=inputs, outputs=copy.deepcopy(inputs), dependencies=[],
        provider=K8S_PROVIDER if type_.startswith("kubernetes:") else "", options=options or {},
    )
    capture.resources.append(resource)
    return resource


def check(capture: Capture, name: str, config: Optional[dict] = None, view: str = "engine") -> Report:
    """Run one policy (with its schema defaults, plus `config`) on the capture, in the engine's view
    unless `view="program"` (a chart's values are visible only there: see test_engine_view.py)."""
    return run_policies(capture, [POLICY[name]], {name: config} if config else None, view=view)


def assert_violation(report: Report, name: str, message: str, urn: Optional[str] = None,
                     enforcement: Optional[str] = None) -> None:
    """`report` holds a violation of policy `name` whose message contains `message` (on `urn`)."""
    found = report.for_policy(name)
    matching = [v for v in found if message in v.message and (urn is None or v.urn == urn)]
    assert matching, f"no {name} violation containing {message!r} on {urn}; got:\n" + "\n".join(
        f"  {v.urn}: {v.message}" for v in found)
    expected = enforcement or (POLICY[name].enforcement_level.value)
    assert all(v.enforcement == expected for v in matching)
    assert all(v.description == POLICY[name].description for v in matching)
    assert f"{name}: {matching[0].urn or '(stack)'}" in report.format()


def assert_clean(report: Report, name: str) -> None:
    assert not report.for_policy(name), "\n".join(v.message for v in report.for_policy(name))


def set_gpu_quota(capture: Capture, queue: str, flavor: str, nominal: str, field: str = "nominalQuota") -> None:
    def change(props: dict) -> None:
        for group in props["spec"]["resourceGroups"]:
            for fl in group["flavors"]:
                if fl["name"] == flavor:
                    for r in fl["resources"]:
                        if r["name"] == "nvidia.com/gpu":
                            r[field] = nominal
    edit(res(capture, T_CQ, queue), change)
