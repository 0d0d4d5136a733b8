"""Kueue objects and the index of a stack's resources that the stack policies read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Iterator, Optional

from .gke import TYPE_CLUSTER, TYPE_NODE_POOL, TYPE_RESERVATION, Cluster, NodePool, node_pool
from .values import get, items, mapping, parse_quantity, plain

_KUEUE_TYPE = re.compile(r"^kubernetes:kueue\.x-k8s\.io/(?P<version>[^:]+):(?P<kind>\w+)$")


# ---------------------------------------------------------------------------------------------------
# Kueue objects


@dataclass
class KueueObject:
    urn: str
    kind: str
    version: str
    name: str
    namespace: Optional[str]
    spec: dict
    labels: dict


def kueue_kind(resource_type: str) -> Optional[tuple[str, str]]:
    """(version, kind) for a Kueue resource type token, else None."""
    match = _KUEUE_TYPE.match(resource_type)
    return (match.group("version"), match.group("kind")) if match else None


def gpu_quotas(cluster_queue: KueueObject, resource: str) -> Iterator[tuple[str, Optional[Decimal], Optional[Decimal]]]:
    """(flavor, nominalQuota, borrowingLimit) of `resource` in every flavor of a ClusterQueue."""
    for group in items(cluster_queue.spec, "resourceGroups"):
        for flavor in items(group, "flavors"):
            name = get(flavor, "name")
            for res in items(flavor, "resources"):
                if get(res, "name") == resource and isinstance(name, str):
                    limit = res.get("borrowingLimit") if isinstance(res, dict) else None
                    yield name, parse_quantity(res.get("nominalQuota")), parse_quantity(limit)


def flavor_refs(cluster_queue: KueueObject) -> Iterator[str]:
    for group in items(cluster_queue.spec, "resourceGroups"):
        for flavor in items(group, "flavors"):
            if isinstance(get(flavor, "name"), str):
                yield flavor["name"]


def selector_matches(selector: Any, labels: dict) -> bool:
    """Kubernetes LabelSelector semantics (an empty selector matches everything)."""
    if not isinstance(selector, dict):
        return False
    for key, value in mapping(selector, "matchLabels").items():
        if labels.get(key) != value:
            return False
    for expr in items(selector, "matchExpressions"):
        key, op, values = get(expr, "key"), get(expr, "operator"), items(expr, "values")
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ---------------------------------------------------------------------------------------------------
# The stack as the stack policies see it


class StackView:
    """Index of a stack's resources (props are plain values: outputs, as the engine passes them)."""

    def __init__(self, resources: Iterable[Any]):
        self.resources = list(resources)
        self.props = {r.urn: plain(r.props) for r in self.resources}
        self.by_urn = {r.urn: r for r in self.resources}
        self.clusters = [Cluster(r.urn, r.name, self.props[r.urn]) for r in self.of_type(TYPE_CLUSTER)]
        self.pools: list[NodePool] = []
        self.pool_cluster: dict[str, Optional[Cluster]] = {}
        for r in self.of_type(TYPE_NODE_POOL):
            cluster = self._cluster_of(r)
            pool = node_pool(r.urn, r.name, self.props[r.urn], cluster.props if cluster else None)
            self.pools.append(pool)
            self.pool_cluster[r.urn] = cluster
        self.reservations = [r for r in self.of_type(TYPE_RESERVATION)]
        self.kueue: list[KueueObject] = []
        for r in self.resources:
            kind = kueue_kind(r.resource_type)
            if kind:
                props = self.props[r.urn]
                name = get(props, "metadata", "name")
                namespace = get(props, "metadata", "namespace")
                self.kueue.append(KueueObject(
                    urn=r.urn, version=kind[0], kind=kind[1],
                    name=name if isinstance(name, str) else r.name,
                    namespace=namespace if isinstance(namespace, str) else None,
                    spec=mapping(props, "spec"),
                    labels=mapping(props, "metadata", "labels"),
                ))

    def of_type(self, resource_type: str) -> list[Any]:
        return [r for r in self.resources if r.resource_type == resource_type]

    def kueue_objects(self, kind: str) -> list[KueueObject]:
        return [o for o in self.kueue if o.kind == kind]

    def dependencies(self, resource: Any) -> set[str]:
        urns = {d.urn for d in (getattr(resource, "dependencies", None) or [])}
        for deps in (getattr(resource, "property_dependencies", None) or {}).values():
            urns.update(d.urn for d in deps)
        return urns

    def _cluster_of(self, pool: Any) -> Optional[Cluster]:
        if not self.clusters:
            return None
        deps = self.dependencies(pool)
        for cluster in self.clusters:
            if cluster.urn in deps:
                return cluster
        ref = self.props[pool.urn].get("cluster")
        if isinstance(ref, str):
            for cluster in self.clusters:
                name = cluster.props.get("name")
                if isinstance(name, str) and (ref == name or ref.endswith(f"/clusters/{name}")):
                    return cluster
        return self.clusters[0] if len(self.clusters) == 1 else None

    def cluster_pools(self, cluster: Cluster) -> list[NodePool]:
        return [p for p in self.pools if self.pool_cluster.get(p.urn) is cluster]

    def nap_limit(self, accelerator: str) -> tuple[Optional[Cluster], Any]:
        """The first NAP-enabled cluster with a GPU limit for `accelerator`, and that limit."""
        for cluster in self.clusters:
            if cluster.nap_enabled and accelerator in cluster.limits:
                return cluster, cluster.limits[accelerator]
        return None, None
