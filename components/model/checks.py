"""Cross-field rules the pydantic types cannot express. Each returns issues; none raises.

They run after the structural validation succeeded, before any resource exists, and every issue
names its config path and a fix.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from typing import Callable, Iterator

from .capacity import quota_uses
from .catalog import machine_types
from .errors import Issue
from .flavors import COMPACT, flavors
from .ha import spread_issues
from .schema import SCHEMA_VERSIONS, Platform, Provisioning

# Which capacity each queue class may draw from, in the order its flavors must be listed.
CLASS_CAPACITY = {
    "high": (Provisioning.RESERVED.value, Provisioning.ON_DEMAND.value),
    "low": (Provisioning.RESERVED.value, Provisioning.SPOT.value),
    "compact": (COMPACT,),
}
MEMBER_PREFIXES = ("user:", "group:", "serviceAccount:", "domain:")
GSA_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
GKE_POOL_NAME_MAX = 40
# Namespaces the platform or GKE own; a team must never be put in one of them.
RESERVED_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease", "kueue-system", "jobset-system",
                       "monitoring", "gmp-system", "gmp-public", "gke-managed-system"}

Check = Callable[[Platform], Iterator[Issue]]


def _zones(p: Platform) -> Iterator[Issue]:
    for i, zone in enumerate(p.zones):
        if zone in p.zones[:i]:
            yield Issue(f"zones[{i}]", f"{zone!r} is listed twice", "list each zone once")
        if not zone.startswith(p.region + "-"):
            yield Issue(f"zones[{i}]", f"{zone!r} is not a zone of region {p.region!r}", f"use e.g. {p.region}-a")
    for i, pool in enumerate(p.gpu_pools):
        for j, zone in enumerate(pool.zones or []):
            if zone not in p.zones:
                yield Issue(
                    f"gpuPools[{i}].zones[{j}]",
                    f"{zone!r} is not one of the platform's zones {p.zones}",
                    "add it to zones or pick a listed zone",
                )


def _network(p: Platform) -> Iterator[Issue]:
    n = p.network
    ranges = {
        "network.subnetCidr": n.subnet_cidr,
        "network.podsCidr": n.pods_cidr,
        "network.servicesCidr": n.services_cidr,
        "network.masterCidr": n.master_cidr,
    }
    nets = {k: ipaddress.ip_network(v) for k, v in ranges.items()}
    not_ipv4 = [key for key, net in nets.items() if net.version != 4]
    for key in not_ipv4:
        yield Issue(key, f"{nets[key]} is not IPv4; GKE's node, pod, service and control-plane ranges are IPv4", "use an IPv4 range")
    if not_ipv4:
        return  # overlap and size rules below assume IPv4
    keys = list(nets)
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            if nets[keys[a]].overlaps(nets[keys[b]]):
                yield Issue(
                    keys[b],
                    f"{nets[keys[b]]} overlaps {keys[a]} ({nets[keys[a]]})",
                    "give every range its own address space",
                )
    if nets["network.masterCidr"].prefixlen != 28:
        yield Issue("network.masterCidr", f"{n.master_cidr} must be a /28 (GKE requirement)", "use e.g. 172.16.0.0/28")
    for key in ("network.subnetCidr", "network.podsCidr", "network.servicesCidr", "network.masterCidr"):
        if not nets[key].is_private:
            yield Issue(key, f"{nets[key]} is not a private (RFC 1918) range", "use a 10.x, 172.16-31.x or 192.168.x range")


def _private_endpoint(p: Platform) -> Iterator[Issue]:
    """With the public endpoint off, only internal addresses reach the control plane (GKE "Add
    authorized networks for control plane access": the VPC's nodes and Pods, and allowed internal CIDRs
    reached over VPN/Interconnect); a public block there is dead config that hides a broken admin path."""
    if not p.cluster.private_endpoint:
        return
    for i, block in enumerate(p.network.authorized_networks):
        net = ipaddress.ip_network(block.cidr)
        if not net.is_private:
            yield Issue(
                f"network.authorizedNetworks[{i}].cidr",
                f"{block.cidr} is a public range; with cluster.privateEndpoint the control plane has no public IP to reach",
                "list the internal ranges your admins and CI come from (VPC subnet, VPN or Interconnect ranges)",
            )


def _machines(p: Platform) -> Iterator[Issue]:
    catalog = machine_types()
    known = ", ".join(sorted(catalog))
    system = p.cluster.system_pool
    if system.machine_type not in catalog:
        yield Issue("cluster.systemPool.machineType", f"unknown machine type {system.machine_type!r}", f"use one of: {known}")
    elif catalog[system.machine_type].gpus:
        yield Issue("cluster.systemPool.machineType", f"{system.machine_type} has GPUs; the system pool must not", "use e.g. e2-standard-4")
    if system.min_nodes > system.max_nodes:
        yield Issue("cluster.systemPool.minNodes", f"{system.min_nodes} exceeds maxNodes {system.max_nodes}", "lower minNodes")
    shapes = [(f"gpuPools[{i}]", x) for i, x in enumerate(p.gpu_pools)]
    shapes += [(f"nodeAutoProvisioning.shapes[{i}]", x) for i, x in enumerate(p.node_auto_provisioning.shapes)]
    for path, shape in shapes:
        machine = catalog.get(shape.machine_type)
        if machine is None:
            yield Issue(f"{path}.machineType", f"unknown machine type {shape.machine_type!r}", f"use one of: {known} (or add it to platform/catalog/machine_types.yaml)")
            continue
        if machine.accelerator != shape.accelerator.type:
            yield Issue(
                f"{path}.accelerator.type",
                f"{shape.machine_type} carries {machine.accelerator or 'no GPU'}, not {shape.accelerator.type!r}",
                f"set accelerator.type: {machine.accelerator}" if machine.accelerator else "pick a GPU machine type",
            )
        elif machine.gpus != shape.accelerator.count:
            yield Issue(
                f"{path}.accelerator.count",
                f"{shape.machine_type} has {machine.gpus} GPU(s) per node, not {shape.accelerator.count}",
                f"set accelerator.count: {machine.gpus}",
            )


def _pools(p: Platform) -> Iterator[Issue]:
    names: dict[str, str] = {"system": "cluster.systemPool"}
    entries = [(f"gpuPools[{i}]", x.name) for i, x in enumerate(p.gpu_pools)]
    entries += [(f"nodeAutoProvisioning.shapes[{i}]", x.name) for i, x in enumerate(p.node_auto_provisioning.shapes)]
    for path, name in entries:
        if name in names:
            yield Issue(f"{path}.name", f"{name!r} is already used by {names[name]}", "give every pool and shape a unique name")
        names.setdefault(name, path)
    for i, pool in enumerate(p.gpu_pools):
        path = f"gpuPools[{i}]"
        if pool.provisioning is Provisioning.RESERVED:
            if pool.reserved_nodes < 1:
                yield Issue(f"{path}.reservedNodes", "a reserved pool needs reservedNodes >= 1 (its reservation size)", "set reservedNodes to the machines you reserve")
            for key, value in (("minNodes", pool.min_nodes), ("maxNodes", pool.max_nodes)):
                if value:
                    yield Issue(f"{path}.{key}", f"a reserved pool has a fixed size (reservedNodes); {key} does not apply", f"remove {key}")
            if len(pool.zones or p.zones) != 1:
                yield Issue(f"{path}.zones", f"a reservation lives in one zone, got {pool.zones or p.zones}", "list exactly one zone")
        else:
            if pool.reserved_nodes:
                yield Issue(f"{path}.reservedNodes", f"only reserved pools consume a reservation, this one is {pool.provisioning.value}", "remove reservedNodes")
            if pool.max_nodes < 1:
                yield Issue(f"{path}.maxNodes", "an autoscaled pool needs maxNodes >= 1", "set maxNodes")
            if pool.min_nodes != 0:
                yield Issue(
                    f"{path}.minNodes",
                    f"{pool.provisioning.value} GPU pools scale from zero, got minNodes {pool.min_nodes} (idle GPUs cost money)",
                    "set minNodes: 0; use a reserved pool for always-on capacity",
                )
    nap = p.node_auto_provisioning
    if nap.shapes and not nap.enabled:
        yield Issue("nodeAutoProvisioning.shapes", "shapes are declared but nodeAutoProvisioning.enabled is false", "enable NAP or remove the shapes")
    for i, shape in enumerate(nap.shapes):
        if shape.max_gpus % shape.accelerator.count:
            yield Issue(
                f"nodeAutoProvisioning.shapes[{i}].maxGpus",
                f"{shape.max_gpus} is not a multiple of {shape.accelerator.count} GPUs per node",
                f"use a multiple of {shape.accelerator.count}",
            )


def _names(p: Platform) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for i, team in enumerate(p.teams):
        if team.name in seen:
            yield Issue(f"teams[{i}].name", f"{team.name!r} is already teams[{seen[team.name]}]", "team names must be unique")
        seen.setdefault(team.name, i)
        gsa = f"{p.name_prefix}-{team.name}"
        if not GSA_ID.match(gsa):
            yield Issue(
                f"teams[{i}].name",
                f"service account id {gsa!r} (namePrefix-team) must be 6-30 characters",
                "shorten namePrefix or the team name",
            )
        if team.name in RESERVED_NAMESPACES or team.name.startswith("kube-"):
            yield Issue(f"teams[{i}].name", f"{team.name!r} is a system namespace; a team cannot own it", "pick another team name")
        for j, member in enumerate(team.members):
            if not member.startswith(MEMBER_PREFIXES):
                yield Issue(f"teams[{i}].members[{j}]", f"{member!r} is not an IAM member", "write user:alice@example.com or group:ml@example.com")
    for i, pool in enumerate(p.gpu_pools):
        if len(pool.name) > GKE_POOL_NAME_MAX:
            yield Issue(f"gpuPools[{i}].name", f"{pool.name!r} exceeds {GKE_POOL_NAME_MAX} characters", "shorten it")
    if not GSA_ID.match(f"{p.name_prefix}-nodes"):
        yield Issue("namePrefix", f"{p.name_prefix!r} makes the node service account id too long", "use at most 24 characters")


def _queues(p: Platform) -> Iterator[Issue]:
    all_flavors = flavors(p)
    for t, team in enumerate(p.teams):
        classes = team.queues.by_class()
        if not any(quotas for _, quotas in classes):
            yield Issue(f"teams[{t}].queues", f"team {team.name!r} has no queue", "give it at least one of high, low, compact")
        for cls, quotas in classes:
            allowed = CLASS_CAPACITY[cls]
            seen_rank = -1
            listed: set[str] = set()
            for q, quota in enumerate(quotas):
                path = f"teams[{t}].queues.{cls}[{q}]"
                flavor = all_flavors.get(quota.flavor)
                if flavor is None:
                    yield Issue(f"{path}.flavor", f"unknown flavor {quota.flavor!r}", f"use one of: {', '.join(all_flavors)}")
                    continue
                if quota.flavor in listed:
                    yield Issue(f"{path}.flavor", f"{quota.flavor!r} is listed twice", "list each flavor once")
                listed.add(quota.flavor)
                if flavor.capacity not in allowed:
                    yield Issue(
                        f"{path}.flavor",
                        f"{quota.flavor!r} is {flavor.capacity} capacity; the {cls} class may only use {' / '.join(allowed)}",
                        "pick a flavor of an allowed capacity type",
                    )
                    continue
                rank = allowed.index(flavor.capacity)
                if rank < seen_rank:
                    yield Issue(
                        f"{path}.flavor",
                        f"{quota.flavor!r} ({flavor.capacity}) is listed after a {allowed[seen_rank]} flavor; Kueue tries flavors in order",
                        f"list {' before '.join(allowed)}",
                    )
                seen_rank = max(seen_rank, rank)
                if quota.borrowing_limit is not None and team.cohort is None:
                    yield Issue(f"{path}.borrowingLimit", "borrowing needs a cohort (Kueue rejects borrowingLimit without one)", "set the team's cohort or remove borrowingLimit")
    yield from _borrowing(p)


def _borrowing(p: Platform) -> Iterator[Issue]:
    """A borrowing limit is only reachable if other queues of the cohort (the team's own other
    classes included) own nominal quota in that flavor."""
    lendable: dict[tuple[str, str], list] = defaultdict(list)
    uses = [u for u in quota_uses(p) if u.cohort]
    for use in uses:
        lendable[(use.cohort, use.flavor)].append(use)
    for use in uses:
        if not use.borrowing_limit:
            continue
        peers = sum(u.gpus for u in lendable[(use.cohort, use.flavor)] if u.owner != use.owner)
        if use.borrowing_limit > peers:
            yield Issue(
                f"{use.path}.borrowingLimit",
                f"{use.borrowing_limit} GPUs of {use.flavor!r} can never be borrowed: the other queues in cohort "
                f"{use.cohort!r} own only {peers} nominal GPUs there",
                f"lower borrowingLimit to at most {peers}",
            )


def _capacity(p: Platform) -> Iterator[Issue]:
    """Per flavor, the nominal quotas must fit what the pool or NAP allowance can supply."""
    all_flavors = flavors(p)
    by_flavor: dict[str, list] = defaultdict(list)
    for use in quota_uses(p):
        if use.flavor in all_flavors:
            by_flavor[use.flavor].append(use)
    for name, uses in by_flavor.items():
        flavor = all_flavors[name]
        total = sum(u.gpus for u in uses)
        if total <= flavor.gpus:
            continue
        parts = ", ".join(f"{u.owner} {u.gpus}" for u in uses if u.gpus)
        supply = f"{flavor.max_nodes} nodes x {flavor.gpus_per_node} GPUs"
        if flavor.is_nap:
            supply = f"NAP allowance maxGpus {flavor.gpus}"
        elif flavor.capacity == Provisioning.RESERVED.value:
            supply = f"{flavor.max_nodes} reserved nodes x {flavor.gpus_per_node} GPUs"
        largest = max(uses, key=lambda u: u.gpus)
        yield Issue(
            f"{largest.path}.gpus" if largest.path != "dws" else "dws.gpus",
            f"flavor {name!r} is over-subscribed: nominal quotas sum to {total} GPUs ({parts}) "
            f"but it supplies {flavor.gpus} ({supply})",
            f"lower the quotas by {total - flavor.gpus} GPUs or grow the pool",
        )


def _dws(p: Platform) -> Iterator[Issue]:
    dws_pools = [i for i, pool in enumerate(p.gpu_pools) if pool.provisioning is Provisioning.DWS]
    granted = [i for i, team in enumerate(p.teams) if team.dws]
    if p.dws is None:
        for i in granted:
            yield Issue(f"teams[{i}].dws", "the team is granted DWS but no dws section exists", "add dws: {flavor: <dws pool>, gpus: N}")
        for i in dws_pools:
            yield Issue(f"gpuPools[{i}]", "a dws pool exists but no dws queue uses it", "add a dws section or remove the pool")
        return
    pool = next((x for x in p.gpu_pools if x.name == p.dws.flavor), None)
    if pool is None or pool.provisioning is not Provisioning.DWS:
        names = [p.gpu_pools[i].name for i in dws_pools]
        yield Issue("dws.flavor", f"{p.dws.flavor!r} is not a GPU pool with provisioning: dws", f"use one of: {names or 'add a dws pool'}")
    if not granted:
        yield Issue("dws", "no team is granted DWS (teams[].dws: true)", "grant a team or remove the dws section")


def _versions(p: Platform) -> Iterator[Issue]:
    for name, vendored in SCHEMA_VERSIONS.items():
        wanted = getattr(p.versions, name)
        if wanted != vendored:
            yield Issue(
                f"versions.{name}",
                f"{name} {wanted} has no vendored CRD schemas (platform/schemas holds {vendored}), so its objects cannot be validated",
                f"use {vendored}, or vendor the {wanted} schemas and update SCHEMA_VERSIONS",
            )


def _monitoring(p: Platform) -> Iterator[Issue]:
    """HA replicas are spread over system nodes (the chart's pod anti-affinity); more replicas than the
    system pool can ever have nodes would share a node and fail together."""
    m, nodes = p.monitoring, p.cluster.system_pool.max_nodes
    for key, replicas in (("prometheusReplicas", m.prometheus_replicas), ("alertmanagerReplicas", m.alertmanager_replicas)):
        if m.enabled and replicas > nodes:
            yield Issue(f"monitoring.{key}", f"{replicas} replicas but the system pool has at most {nodes} node(s)",
                        f"lower it to {nodes} or raise cluster.systemPool.maxNodes")


CHECKS: tuple[Check, ...] = (_zones, _network, _private_endpoint, _machines, _pools, _names, _queues, _capacity, _dws, _versions, spread_issues, _monitoring)


def semantic_issues(platform: Platform) -> list[Issue]:
    issues: list[Issue] = []
    for check in CHECKS:
        issues.extend(check(platform))
    return issues
