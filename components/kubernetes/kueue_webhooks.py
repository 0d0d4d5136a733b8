"""Kueue's webhook-only ClusterQueue and Cohort checks (pkg/webhooks/clusterqueue_webhook.go,
cohort_webhook.go): what the CRD schema and its CEL rules do not say."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from components.model.quantity import parse_quantity

from .manifest_schema import FieldPath


def cluster_queue_webhook_problems(spec: dict) -> Iterator[tuple[FieldPath, str]]:
    yield from quota_webhook_problems(spec, has_parent=bool(spec.get("cohortName")), is_cohort=False)
    flavors = {f.get("name") for group in _dicts(spec.get("resourceGroups")) for f in _dicts(group.get("flavors"))}
    strategy = spec.get("admissionChecksStrategy")
    checks = strategy.get("admissionChecks") if isinstance(strategy, dict) else None
    for i, check in enumerate(_dicts(checks)):
        for j, flavor in enumerate(check.get("onFlavors") or []):
            if flavor not in flavors:
                yield (("spec", "admissionChecksStrategy", "admissionChecks", i, "onFlavors", j),
                       f"Unsupported value {flavor!r}: must be one of this ClusterQueue's flavors {sorted(flavors)}")


def quota_webhook_problems(spec: dict, *, has_parent: bool, is_cohort: bool) -> Iterator[tuple[FieldPath, str]]:
    yield from _weight_problems(spec)
    seen_resources: set[str] = set()
    seen_flavors: set[str] = set()
    for g, group in enumerate(_dicts(spec.get("resourceGroups"))):
        base: FieldPath = ("spec", "resourceGroups", g)
        covered = group.get("coveredResources") if isinstance(group.get("coveredResources"), list) else []
        for i, name in enumerate(covered):
            if name in seen_resources:
                yield (*base, "coveredResources", i), f"Duplicate value: {name!r} is covered by another resource group"
            seen_resources.add(name)
        for j, flavor in enumerate(_dicts(group.get("flavors"))):
            name = flavor.get("name")
            if name in seen_flavors:
                yield (*base, "flavors", j, "name"), f"Duplicate value: {name!r} is in another resource group"
            seen_flavors.add(name)
            for i, quota in enumerate(_dicts(flavor.get("resources"))[:len(covered)]):
                path = (*base, "flavors", j, "resources", i)
                yield from _resource_quota_problems(quota, covered[i], path, has_parent=has_parent,
                                                    is_cohort=is_cohort)


def _resource_quota_problems(quota: dict, covered: str, path: FieldPath, *, has_parent: bool,
                             is_cohort: bool) -> Iterator[tuple[FieldPath, str]]:
    if quota.get("name") != covered:
        yield (*path, "name"), (f"Invalid value {quota.get('name')!r}: "
                                f"must match the name in coveredResources ({covered!r})")
    nominal = _quantity(quota.get("nominalQuota"))
    for field in ("nominalQuota", "borrowingLimit", "lendingLimit"):
        if field in quota and (amount := _quantity(quota[field])) is not None and amount < 0:
            yield (*path, field), f"Invalid value {quota[field]!r}: must be greater than or equal to 0"
    parent_word = "parent" if is_cohort else "cohort"
    # For a ClusterQueue the CRD's CEL rule already reports borrowingLimit without cohortName.
    limits = ("borrowingLimit", "lendingLimit") if is_cohort else ("lendingLimit",)
    for field in limits:
        if field in quota and not has_parent:
            yield (*path, field), f"Invalid value {quota[field]!r}: must be nil when {parent_word} is empty"
    lending = _quantity(quota.get("lendingLimit"))
    # Upstream enforces lendingLimit <= nominalQuota for ClusterQueues only.
    if not is_cohort and lending is not None and nominal is not None and lending > nominal:
        yield (*path, "lendingLimit"), (
            f"Invalid value {quota['lendingLimit']!r}: must be less than or equal to the nominalQuota "
            f"({quota.get('nominalQuota')!r})")


def _weight_problems(spec: dict) -> Iterator[tuple[FieldPath, str]]:
    fair_sharing = spec.get("fairSharing")
    weight = _quantity(fair_sharing.get("weight")) if isinstance(fair_sharing, dict) else None
    path: FieldPath = ("spec", "fairSharing", "weight")
    if weight is None:
        return
    if weight < 0:
        yield path, f"Invalid value {fair_sharing['weight']!r}: must be greater than or equal to 0"
    elif weight <= Decimal("1e-9") and weight != 0:
        yield path, f"Invalid value {fair_sharing['weight']!r}: When not 0, weight must be > 10e-9"


def _quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity ("20Gi", "500m", 4) as a Decimal; None if absent or malformed (the schema says so)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    return parse_quantity(str(value))


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
