"""The team LimitRange must never make a valid job invalid.

Kubernetes "Limit Ranges" (https://kubernetes.io/docs/concepts/policy/limit-range/): the LimitRanger
admission plugin gives a container without limits the LimitRange's `default` limits and one without
requests its `defaultRequest`; a LimitRange item with `default` but no `defaultRequest` is defaulted to
use the limit as the request (core/v1 defaults.go SetDefaults_LimitRangeItem). Before admission the API
server sets a container's missing requests to its limits (SetDefaults_Pod). Validation then rejects a
container whose request exceeds its limit ("must be less than or equal to cpu limit", the page's example).
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from components.plan import kubernetes_object

UNITS = {"m": Decimal("0.001"), "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "": 1}


def _qty(value: str) -> Decimal:
    for suffix in ("Ki", "Mi", "Gi", "m"):
        if value.endswith(suffix):
            return Decimal(value[: -len(suffix)]) * UNITS[suffix]
    return Decimal(value)


def admit(container: dict, limit_range: dict) -> dict:
    """The container as stored: API defaulting, then the LimitRanger's defaults."""
    c = copy.deepcopy(container)
    res = c.setdefault("resources", {})
    limits, requests = res.setdefault("limits", {}), res.setdefault("requests", {})
    for name, value in limits.items():
        requests.setdefault(name, value)  # SetDefaults_Pod: requests default to limits
    for item in limit_range["spec"]["limits"]:
        if item["type"] != "Container":
            continue
        default_request = item.get("defaultRequest") or item.get("default", {})
        for name, value in item.get("default", {}).items():
            limits.setdefault(name, value)
        for name, value in default_request.items():
            requests.setdefault(name, value)
    return c


def invalid(container: dict) -> list[str]:
    res = container["resources"]
    return [f"requests.{n}: must be less than or equal to {n} limit" for n, v in res["requests"].items()
            if n in res["limits"] and _qty(v) > _qty(res["limits"][n])]


@pytest.fixture(scope="module")
def limit_range(dev_capture) -> dict:
    ranges = [kubernetes_object(r) for r in dev_capture.of_type("kubernetes:core/v1:LimitRange")]
    assert len(ranges) == 4
    return ranges[0]


@pytest.mark.parametrize("container", [
    {"resources": {"requests": {"cpu": "8", "memory": "32Gi"}}},                 # the job
    {"resources": {"requests": {"cpu": "8"}, "limits": {"nvidia.com/gpu": "1"}}},
    {"resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}},
    {"resources": {}},
])
def test_defaults_never_make_a_valid_container_invalid(limit_range, container):
    assert invalid(admit(container, limit_range)) == []


def test_container_without_requests_still_gets_some(limit_range):
    """Kueue assigns a flavor only to workloads that request covered resources (kubernetes-sigs/kueue#891, #485)."""
    requests = admit({"resources": {}}, limit_range)["resources"]["requests"]
    assert set(requests) == {"cpu", "memory"}
