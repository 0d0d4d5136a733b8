"""Region, zones, IP ranges and control-plane access: the checks whose failure GKE reports only at create time.

Sources (each rule cites its own below):
- Zones: Compute Engine "Regions and zones", as data in platform/catalog/zones.yaml.
- Pod range per node: GKE "Configure maximum Pods per node" (kubernetes-engine/docs/how-to/flexible-pod-cidr):
  a node gets the smallest block with at least twice maxPodsPerNode addresses (110 -> /24, 32 -> /26, 8 -> /28).
- Subnet: VPC "Subnets", reserved IPv4 addresses: 4 per primary range (network, gateway, second-to-last, broadcast).
- Services: kube-apiserver rejects a service range wider than /12 (cmd/kube-apiserver/app/options/validation.go,
  maxCIDRBits 20); GKE's private control plane takes a /28 (private cluster `masterIpv4CidrBlock`).
- Authorized networks: GKE "Add authorized networks for control plane access": with the private endpoint only,
  the control plane is reachable from internal addresses only, so a public block cannot reach it.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
from typing import Iterator

from .catalog import region_zones
from .errors import REMOVE, Issue
from .flavors import flavors
from .schema import Platform

SUBNET_RESERVED = 4  # VPC reserves 4 addresses in every primary IPv4 range
SERVICES_MIN_PREFIX = 12  # kube-apiserver: the service range mask must be >= 12
AUTHORIZED_MIN_PREFIX = 8  # wider than a /8 is "the internet" (also the policy pack's default)
# Internal address space a VPC, VPN or Interconnect can route to a private endpoint: RFC 1918 and RFC 6598.
INTERNAL = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
RANGES = (("subnetCidr", "subnet_cidr"), ("podsCidr", "pods_cidr"), ("servicesCidr", "services_cidr"), ("masterCidr", "master_cidr"))


def zone_issues(p: Platform) -> Iterator[Issue]:
    catalog = region_zones()
    known = catalog.get(p.region)
    if known is None:
        near = difflib.get_close_matches(p.region, list(catalog), n=1)
        yield Issue("region", f"{p.region!r} is not a known region",
                    f"write {near[0]}" if near else "use a region from platform/catalog/zones.yaml (or add yours there)",
                    example=near[0] if near else None)
        return  # every zone would be "not in the region": one root cause, one error
    for i, zone in enumerate(p.zones):
        if zone in p.zones[:i]:
            yield Issue(f"zones[{i}]", f"{zone!r} is listed twice", "list each zone once", example=REMOVE)
        elif zone not in known:
            unused = [z for z in known if z not in p.zones]
            near = difflib.get_close_matches(zone, unused, n=1, cutoff=0.8)
            example = near[0] if near else (unused[0] if unused else None)
            yield Issue(f"zones[{i}]", f"{zone!r} is not a zone of region {p.region!r} (its zones: {', '.join(known)})",
                        f"write {example}" if example else "remove it", example=example or REMOVE)
    for i, pool in enumerate(p.gpu_pools):
        for j, zone in enumerate(pool.zones or []):
            if zone not in p.zones:
                yield Issue(
                    f"gpuPools[{i}].zones[{j}]",
                    f"{zone!r} is not one of the platform's zones {list(p.zones)}",
                    f"add it to zones or pick a listed zone, e.g. {p.zones[0]}",
                    example=p.zones[0],
                )


def _nets(p: Platform) -> dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return {f"network.{key}": ipaddress.ip_network(getattr(p.network, attr)) for key, attr in RANGES}


def network_issues(p: Platform) -> Iterator[Issue]:
    nets = _nets(p)
    not_ipv4 = [key for key, net in nets.items() if net.version != 4]
    for key in not_ipv4:
        yield Issue(key, f"{nets[key]} is not IPv4; GKE's node, pod, service and control-plane ranges are IPv4", "use an IPv4 range")
    if not_ipv4:
        return  # overlap and size rules below assume IPv4
    keys = list(nets)
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            if nets[keys[a]].overlaps(nets[keys[b]]):
                yield Issue(keys[b], f"{nets[keys[b]]} overlaps {keys[a]} ({nets[keys[a]]})",
                            "give every range its own address space", example=_free_block(nets, keys[b]))
    master = nets["network.masterCidr"]
    if master.prefixlen != 28:
        example = _free_block(nets, "network.masterCidr", prefix=28)
        yield Issue("network.masterCidr", f"{master} must be a /28 (GKE's private control plane takes exactly 16 addresses)",
                    f"use a /28, e.g. {example}", example=example)
    for key in keys:
        if not nets[key].is_private:
            yield Issue(key, f"{nets[key]} is not a private (RFC 1918) range", "use a 10.x, 172.16-31.x or 192.168.x range")
    services = nets["network.servicesCidr"]
    if services.prefixlen < SERVICES_MIN_PREFIX:
        yield Issue("network.servicesCidr", f"{services} is wider than Kubernetes allows for Services (at most a /12)",
                    f"use e.g. {next(services.subnets(new_prefix=20))}",
                    example=str(next(services.subnets(new_prefix=20))))


def _free_block(nets: dict, key: str, prefix: int | None = None) -> str | None:
    """A private block of `key`'s size (or /prefix) that overlaps none of the other ranges."""
    others = [n for k, n in nets.items() if k != key]
    size = prefix or nets[key].prefixlen
    for parent in (ipaddress.ip_network("172.16.0.0/12"), ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.0.0/16")):
        if size < parent.prefixlen:
            continue
        for candidate in parent.subnets(new_prefix=size):
            if not any(candidate.overlaps(o) for o in others):
                return str(candidate)
    return None


def pod_block_prefix(max_pods: int) -> int:
    """Prefix of each node's slice of the pod range: the smallest block with >= 2 x maxPods addresses (min /28)."""
    return 32 - max(4, math.ceil(math.log2(2 * max_pods)))


def max_nodes(p: Platform) -> int:
    """The most nodes the cluster can reach: system pool, every GPU pool at its maximum, every NAP shape's allowance."""
    return p.cluster.system_pool.max_nodes + sum(f.max_nodes for f in flavors(p).values())


def ip_capacity_issues(p: Platform) -> Iterator[Issue]:
    nets = _nets(p)
    if any(n.version != 4 for n in nets.values()):
        return
    nodes = max_nodes(p)
    max_pods = p.cluster.max_pods_per_node
    block = pod_block_prefix(max_pods)
    pods = nets["network.podsCidr"]
    pod_nodes = 2 ** (block - pods.prefixlen) if pods.prefixlen <= block else 0
    if pod_nodes < nodes:
        need = block - math.ceil(math.log2(nodes))
        bigger = pods.supernet(new_prefix=need) if need < pods.prefixlen else pods
        fits = not any(bigger.overlaps(n) for k, n in nets.items() if k != "network.podsCidr")
        yield Issue(
            "network.podsCidr",
            f"{pods} holds pod ranges for {pod_nodes} nodes (each node takes a /{block} for maxPodsPerNode {max_pods}), "
            f"but the pools and NAP can reach {nodes} nodes; GKE stops adding nodes when the range is full",
            f"use a /{need} or larger" + (f", e.g. {bigger}" if fits else "") + ", or lower cluster.maxPodsPerNode",
            example=str(bigger) if fits else None,
        )
    subnet = nets["network.subnetCidr"]
    usable = subnet.num_addresses - SUBNET_RESERVED
    if usable < nodes:
        need = 32 - math.ceil(math.log2(nodes + SUBNET_RESERVED))
        bigger = subnet.supernet(new_prefix=need)
        fits = not any(bigger.overlaps(n) for k, n in nets.items() if k != "network.subnetCidr")
        yield Issue(
            "network.subnetCidr",
            f"{subnet} has {usable} usable node addresses (VPC reserves {SUBNET_RESERVED}), but the pools and NAP can reach {nodes} nodes",
            f"use a /{need} or larger" + (f", e.g. {bigger}" if fits else ""),
            example=str(bigger) if fits else None,
        )


def _internal(cidr: str) -> bool:
    block = ipaddress.ip_network(cidr)
    return block.version == 4 and any(block.subnet_of(n) for n in INTERNAL)


def authorized_network_issues(p: Platform) -> Iterator[Issue]:
    networks = p.network.authorized_networks
    names: dict[str, int] = {}
    blocks: dict[str, int] = {}
    any_internal = any(_internal(n.cidr) for n in networks)
    if p.cluster.private_endpoint and not any_internal:
        yield Issue("cluster.privateEndpoint", "the private endpoint is only reachable from internal addresses, and no "
                    "authorized network is internal: nobody could run kubectl or pulumi against the cluster",
                    f"add an internal block (e.g. the node subnet {p.network.subnet_cidr}) to network.authorizedNetworks, "
                    "or set privateEndpoint: false", example=False)
    for i, net in enumerate(networks):
        path = f"network.authorizedNetworks[{i}]"
        if net.name in names:
            yield Issue(f"{path}.name", f"{net.name!r} is already authorizedNetworks[{names[net.name]}]'s name",
                        "give every block its own name", example=f"{net.name}-{i}")
        names.setdefault(net.name, i)
        block = ipaddress.ip_network(net.cidr)
        if net.cidr in blocks:
            yield Issue(f"{path}.cidr", f"{net.cidr} is already authorizedNetworks[{blocks[net.cidr]}]", "list each block once")
            continue
        blocks.setdefault(net.cidr, i)
        if block.prefixlen < AUTHORIZED_MIN_PREFIX:
            yield Issue(f"{path}.cidr", f"{net.cidr} opens the control plane to {block.num_addresses:,} addresses (the internet)",
                        "authorize only your admin networks (a /8 or narrower), e.g. your office's /24")
        elif p.cluster.private_endpoint and any_internal and not _internal(net.cidr):
            yield Issue(f"{path}.cidr", f"{net.cidr} is a public range: with cluster.privateEndpoint the control plane has no "
                        "public address, so this network can never reach it",
                        "authorize internal ranges (your VPC, VPN or bastion subnet), or set cluster.privateEndpoint: false")
