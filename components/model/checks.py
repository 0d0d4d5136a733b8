"""Cross-field rules the pydantic types cannot express. Each returns issues; none raises.

They run after structural validation, on every section that parsed (components/model/load.py), before
any resource exists; every issue names its config path and a fix. Network, names and queue rules live
in checks_network.py, names.py and checks_queues.py.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

from pydantic.alias_generators import to_camel

from .catalog import machine_types
from .chart_overrides import override_issues
from .datasets import zone_issues as dataset_zone_issues
from .checks_network import authorized_network_issues, ip_capacity_issues, network_issues, zone_issues
from .checks_queues import borrowing_issues, capacity_issues, flavor_limit_issues, queue_issues
from .serving import serving_issues
from .checks_security import security_issues
from .errors import REMOVE, Issue
from .fleet import fleet_issues
from .ha import spread_issues
from .names import name_issues
from .schema import SCHEMA_VERSIONS, Platform, Provisioning
from .checks_sharing import sharing_issues

# IAM member forms a team member may take (IAM "Principal identifiers"); domain: takes a domain, not an e-mail.
MEMBER = re.compile(r"^(user|group|serviceAccount):[^@\s:]+@[a-z0-9.-]+\.[a-z]{2,}$|^domain:[a-z0-9.-]+\.[a-z]{2,}$")
Check = Callable[[Platform], Iterator[Issue]]


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
                    yield Issue(f"{path}.{key}", f"a reserved pool has a fixed size (reservedNodes); {key} does not apply", f"remove {key}",
                                example=REMOVE)
            if len(pool.zones or p.zones) != 1:
                yield Issue(f"{path}.zones", f"a reservation lives in one zone, got {pool.zones or p.zones}", "list exactly one zone")
        else:
            if pool.reserved_nodes:
                yield Issue(f"{path}.reservedNodes", f"only reserved pools consume a reservation, this one is {pool.provisioning.value}",
                            "remove reservedNodes", example=REMOVE)
            if pool.max_nodes < 1:
                yield Issue(f"{path}.maxNodes", "an autoscaled pool needs maxNodes >= 1", "set maxNodes")
            if pool.min_nodes != 0:
                yield Issue(
                    f"{path}.minNodes",
                    f"{pool.provisioning.value} GPU pools scale from zero, got minNodes {pool.min_nodes} (idle GPUs cost money)",
                    "set minNodes: 0; use a reserved pool for always-on capacity", example=0,
                )
    nap = p.node_auto_provisioning
    if nap.shapes and not nap.enabled:
        yield Issue("nodeAutoProvisioning.shapes", "shapes are declared but nodeAutoProvisioning.enabled is false", "enable NAP or remove the shapes")
    for i, shape in enumerate(nap.shapes):
        if shape.max_gpus % shape.accelerator.count:
            yield Issue(
                f"nodeAutoProvisioning.shapes[{i}].maxGpus",
                f"{shape.max_gpus} is not a multiple of {shape.accelerator.count} GPUs per node",
                f"use a multiple of {shape.accelerator.count}, e.g. {max(shape.accelerator.count, shape.max_gpus - shape.max_gpus % shape.accelerator.count)}",
                example=max(shape.accelerator.count, shape.max_gpus - shape.max_gpus % shape.accelerator.count),
            )


def _teams(p: Platform) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for i, team in enumerate(p.teams):
        if team.name in seen:
            yield Issue(f"teams[{i}].name", f"{team.name!r} is already teams[{seen[team.name]}]",
                        f"team names must be unique: rename it or merge it into teams[{seen[team.name]}]")
        seen.setdefault(team.name, i)
        members: dict[str, int] = {}
        for j, member in enumerate(team.members):
            path = f"teams[{i}].members[{j}]"
            if member in members:
                yield Issue(path, f"{member!r} is already members[{members[member]}]", "list each member once", example=REMOVE)
            elif not MEMBER.match(member):
                kind = "group" if "group" in member.split("@")[0] else "user"
                address = member.split(":", 1)[-1]
                example = f"{kind}:{address}" if "@" in address and MEMBER.match(f"{kind}:{address}") else None
                yield Issue(path, f"{member!r} is not an IAM member (user:, group: or serviceAccount: and an e-mail)",
                            f"write {example}" if example else "write user:alice@example.com or group:ml@example.com",
                            example=example)
            members.setdefault(member, j)


def _groups(p: Platform) -> Iterator[Issue]:
    """GKE "Configure Google Groups for RBAC" (https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac):
    the API server resolves a user's Google Groups only when the cluster names a security group
    (gke-security-groups@<domain>) that contains them; without it a RoleBinding to a Group grants nothing."""
    if p.cluster.security_group:
        return
    for i, team in enumerate(p.teams):
        for j, member in enumerate(team.members):
            if member.startswith("group:"):
                yield Issue(
                    f"teams[{i}].members[{j}]",
                    f"{member!r} gets no Kubernetes access: RBAC Group subjects need Google Groups for RBAC, "
                    "and cluster.securityGroup is not set",
                    "set cluster.securityGroup: gke-security-groups@<your-domain> and add this group to it "
                    "(or list the members as user:)",
                )


def _dws(p: Platform) -> Iterator[Issue]:
    granted = [i for i, team in enumerate(p.teams) if team.dws]
    pools = p.gpu_pools if isinstance(p.gpu_pools, list) or not granted or p.dws is not None else []
    dws_pools = [i for i, pool in enumerate(pools) if pool.provisioning is Provisioning.DWS]
    if p.dws is None:
        # Said without the pools when gpuPools did not parse: this rule needs only teams and dws.
        pool_name = pools[dws_pools[0]].name if dws_pools else "<a pool with provisioning: dws>"
        for i in granted:
            yield Issue(f"teams[{i}].dws", "the team is granted DWS but no dws section exists", f"add dws: {{flavor: {pool_name}, gpus: N}}")
        for i in dws_pools if not granted else ():  # with granted teams the missing section is the one cause
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
                f"versions.{to_camel(name)}",
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
                        f"lower it to {nodes} or raise cluster.systemPool.maxNodes", example=nodes)


CHECKS: tuple[Check, ...] = (
    zone_issues, network_issues, ip_capacity_issues, authorized_network_issues, _machines, _pools, _teams, _groups,
    name_issues, queue_issues, flavor_limit_issues, borrowing_issues, capacity_issues, _dws, _versions, spread_issues,
    _monitoring, sharing_issues, dataset_zone_issues, security_issues, serving_issues, override_issues,
    fleet_issues,
)


def semantic_issues(platform: Platform, skip: type[Exception] | tuple = ()) -> list[Issue]:
    """Every check's issues. `skip`: the exception a partial model raises when a check reaches a
    section that did not parse; that check's remaining issues are dropped, the others still run."""
    issues: list[Issue] = []
    for check in CHECKS:
        try:
            for issue in check(platform):
                issues.append(issue)
        except skip:
            continue
    return issues
