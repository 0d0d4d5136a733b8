"""Config rules that keep identities distinct and access narrow (docs/security.md).

* A team becomes a namespace, a Kubernetes service account `<team>-ksa` and a Google service account
  `<namePrefix>-<team>`. A team named like a namespace GKE or the platform owns, or like the platform's
  own principals, would put a team's pods and RBAC where the system runs, or give its jobs the node
  identity (`nodes` derives the nodes' account id, names.node_account_id).
* `domain:` members: a RoleBinding subject for a whole Google Workspace domain lets everyone in the
  company submit GPU jobs as the team; list users or a group instead.
* A public authorized network wider than PUBLIC_MIN_PREFIX opens the control plane to more addresses
  than an office or a NAT gateway has (CIS GKE Benchmark 5.6.3).
* A team's serving image that the enforced Binary Authorization policy would block (images.py).
"""

from __future__ import annotations

import ipaddress
from typing import Iterator

from .errors import Issue
from .images import serving_image_issues
from .names import node_account_id, team_account_id
from .schema import Platform

# Namespaces Kubernetes, GKE or this platform own (a team may not be one), and prefixes GKE reserves.
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease", "kueue-system", "jobset-system",
                     "monitoring", "gmp-system", "gmp-public", "gke-managed-system", "gke-gmp-system",
                     "gke-managed-filestorecsi", "gke-connect", "istio-system", "config-management-system"}
SYSTEM_PREFIXES = ("kube-", "gke-", "gmp-")
# Names of the platform's own principals and Kubernetes' reserved user/group prefixes.
RESERVED_TEAM_NAMES = {"nodes", "system", "admin", "cluster-admin"}
PUBLIC_MIN_PREFIX = 24


def _internal(cidr: str) -> bool:
    network = ipaddress.ip_network(cidr)
    return network.is_private or network.subnet_of(ipaddress.ip_network("100.64.0.0/10"))


def security_issues(p: Platform) -> Iterator[Issue]:
    principals = {node_account_id(p): "the nodes' service account (namePrefix-nodes)"}
    for i, team in enumerate(p.teams):
        path = f"teams[{i}].name"
        if team.name in SYSTEM_NAMESPACES or team.name.startswith(SYSTEM_PREFIXES):
            yield Issue(path, f"{team.name!r} is, or is reserved for, a system namespace (kube-*, gke-*, gmp-*, "
                        "default, the platform's own); a team cannot own it", "pick another team name, e.g. team-"
                        + team.name.split("-")[-1], example=f"team-{team.name.split('-')[-1]}")
        elif team_account_id(p, team) in principals:
            yield Issue(path, f"the team's Google service account {team_account_id(p, team)!r} would be "
                        f"{principals[team_account_id(p, team)]}", "pick another team name", example=f"team-{team.name}")
        elif team.name in RESERVED_TEAM_NAMES:
            yield Issue(path, f"{team.name!r} is the name of one of the platform's own principals", "pick another team name",
                        example=f"team-{team.name}")
        for j, member in enumerate(team.members):
            if member.startswith("domain:"):
                yield Issue(f"teams[{i}].members[{j}]", f"{member!r} makes everyone in the domain a member of {team.name} "
                            "(they could all submit GPU jobs and read its bucket)",
                            "list the people as user: or put them in a group: (with cluster.securityGroup)")
    yield from serving_image_issues(p)
    for i, net in enumerate(p.network.authorized_networks):
        block = ipaddress.ip_network(net.cidr)
        if not _internal(net.cidr) and block.prefixlen < PUBLIC_MIN_PREFIX and block.prefixlen >= 8:
            yield Issue(f"network.authorizedNetworks[{i}].cidr",
                        f"{net.cidr} is a public range of {block.num_addresses:,} addresses; a public authorized network "
                        f"may be at most a /{PUBLIC_MIN_PREFIX} (an office or a NAT gateway)",
                        f"authorize your admin network's /{PUBLIC_MIN_PREFIX} or narrower (e.g. your IP as /32)",
                        example=str(ipaddress.ip_network(f"{block.network_address}/{PUBLIC_MIN_PREFIX}")))
